// Classification over real HTTP multipart requests: a model trained on a toy dataset, real JPEG
// and PNG bytes, every refusal with its code, and the server still serving afterwards.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToyDataset, noiseImage, solidImage, type ToyDataset } from '../helpers/images.js';
import {
  ADMIN_TOKEN,
  CLASSIFY_TOKEN,
  codes,
  gql,
  gqlUpload,
  percentile,
  startTestApp,
  tempDir,
  trainThroughService,
  type TestApp,
} from './helpers.js';

const MAX_UPLOAD_BYTES = 200_000;
const MAX_FILES = 4;

const CLASSIFY = /* GraphQL */ `
  mutation Classify($image: Upload!) {
    classify(image: $image) {
      probability label positive riskBand threshold modelVersion backend preprocessMs inferenceMs disclaimer fileName
      input { width height format }
    }
  }
`;
const CLASSIFY_BATCH = /* GraphQL */ `
  mutation ClassifyBatch($images: [Upload!]!) {
    classifyBatch(images: $images) {
      index fileName
      prediction { probability label modelVersion input { format } }
      error { code reason message }
    }
  }
`;

let toy: ToyDataset;
let app: TestApp;
let modelsDir: string;
let jpeg: Buffer;
let png: Buffer;

const classify = (bytes: Buffer, name = 'lesion.jpg', options: { token?: string; preflight?: boolean } = {}) =>
  gqlUpload(app.url, CLASSIFY, { image: null }, { 'variables.image': { bytes, name } }, options);

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 24, test: 8 }, size: 48, seed: 3 });
  modelsDir = await tempDir('api-models-');
  app = await startTestApp({
    dataDir: toy.root,
    modelsDir,
    storeFile: path.join(modelsDir, 'runs.sqlite'),
    env: { ADMIN_TOKEN, MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), MAX_FILES: String(MAX_FILES) },
  });
  const malignant = toy.files.find((f) => f.split === 'test' && f.className === 'malignant')!;
  jpeg = await fs.readFile(malignant.path);
  png = await sharp(jpeg).png().toBuffer();
});

afterAll(async () => {
  await app?.close();
  await toy?.cleanup();
  if (modelsDir) await fs.rm(modelsDir, { recursive: true, force: true });
});

describe('before any model exists', () => {
  it('answers MODEL_NOT_READY, and /readyz says why', async () => {
    await app.modelLoaded;
    const response = await classify(jpeg);
    expect(codes(response)).toEqual(['MODEL_NOT_READY']);
    expect(response.errors![0].message).toMatch(/no model/);

    const ready = await fetch(`${app.origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not ready', reason: expect.stringMatching(/no model/) });
  });
});

describe('with a trained model', () => {
  beforeAll(async () => {
    const runId = await trainThroughService(app, { epochs: 3 });
    expect(app.services.runs.get(runId)?.status).toBe('succeeded');
    expect(app.services.models.status().ready).toBe(true);
  });

  it('/readyz turns 200 once the model is active', async () => {
    const ready = await fetch(`${app.origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', activeVersion: 'v1' });
  });

  it('classifies a JPEG and a PNG of the same lesion alike', async () => {
    const fromJpeg = await classify(jpeg, 'lesion.jpg');
    const fromPng = await classify(png, 'lesion.png');
    expect(fromJpeg.errors).toBeUndefined();
    expect(fromPng.errors).toBeUndefined();
    const a = fromJpeg.data!.classify;
    const b = fromPng.data!.classify;

    expect(a.probability).toBeGreaterThanOrEqual(0);
    expect(a.probability).toBeLessThanOrEqual(1);
    expect(a.positive).toBe(a.probability >= a.threshold);
    expect(a.label).toBe(a.positive ? 'malignant' : 'benign');
    // UNCERTAIN (refer) overrides the band when the test-time views disagree (see explain-and-guard.test.ts).
    const band = a.probability < a.threshold ? 'LOW' : a.probability < a.threshold + (1 - a.threshold) / 2 ? 'MEDIUM' : 'HIGH';
    expect([band, 'UNCERTAIN']).toContain(a.riskBand);
    expect(a.modelVersion).toBe('v1');
    expect(a.backend).toBe('wasm');
    expect(a.disclaimer).toMatch(/not a diagnosis/i);
    expect(a.preprocessMs).toBeGreaterThan(0);
    expect(a.inferenceMs).toBeGreaterThan(0);
    expect(a.input).toEqual({ width: 48, height: 48, format: 'jpeg' });
    expect(a.fileName).toBe('lesion.jpg');
    expect(b.input).toEqual({ width: 48, height: 48, format: 'png' });
    expect(b.fileName).toBe('lesion.png');
    // Same pixels (the PNG was made from the decoded JPEG): same answer.
    expect(b.probability).toBeCloseTo(a.probability, 5);
  });

  it('scores the toy test lesions by class: the served model is the trained one', async () => {
    const scores: Record<string, number[]> = { benign: [], malignant: [] };
    for (const file of toy.files.filter((f) => f.split === 'test')) {
      const response = await classify(await fs.readFile(file.path), path.basename(file.path));
      expect(response.errors).toBeUndefined();
      scores[file.className].push(response.data!.classify.probability);
    }
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    expect(mean(scores.malignant)).toBeGreaterThan(mean(scores.benign));
  });

  it('classifies a batch, reporting a bad file in its own item', async () => {
    const response = await gqlUpload(app.url, CLASSIFY_BATCH, { images: [null, null, null] }, {
      'variables.images.0': { bytes: jpeg, name: 'a.jpg' },
      'variables.images.1': { bytes: Buffer.from('this is a text file, not a picture'), name: 'notes.txt' },
      'variables.images.2': { bytes: png, name: 'c.png' },
    });
    expect(response.errors).toBeUndefined();
    const items = response.data!.classifyBatch;
    expect(items.map((i: any) => i.index)).toEqual([0, 1, 2]);
    expect(items.map((i: any) => i.fileName)).toEqual(['a.jpg', 'notes.txt', 'c.png']);
    expect(items[0].error).toBeNull();
    expect(items[0].prediction).toMatchObject({ modelVersion: 'v1', input: { format: 'jpeg' } });
    expect(items[1].prediction).toBeNull();
    expect(items[1].error).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NOT_AN_IMAGE' });
    expect(items[2].prediction).toMatchObject({ modelVersion: 'v1', input: { format: 'png' } });
    expect(items[2].prediction.probability).toBeCloseTo(items[0].prediction.probability, 5);
  });

  it('refuses a file that is not an image', async () => {
    const response = await classify(Buffer.from('%%% definitely not an image %%%'), 'x.jpg');
    expect(response.data).toBeNull();
    expect(response.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NOT_AN_IMAGE' });
  });

  it('refuses a truncated JPEG instead of classifying half a picture', async () => {
    const big = await noiseImage(200, 200, 9, 'jpeg');
    const response = await classify(big.subarray(0, Math.floor(big.length / 2)), 'cut.jpg');
    expect(response.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TRUNCATED_IMAGE' });
  });

  it('refuses an image below the minimum side', async () => {
    const response = await classify(await solidImage(8, 8, [120, 80, 60]), 'tiny.png');
    expect(response.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IMAGE_TOO_SMALL' });
  });

  it('refuses a file over MAX_UPLOAD_BYTES with PAYLOAD_TOO_LARGE; exactly the limit is read in full', async () => {
    const oversized = await noiseImage(300, 300, 4, 'png');
    expect(oversized.length).toBeGreaterThan(MAX_UPLOAD_BYTES);
    const refused = await classify(oversized, 'huge.png');
    expect(codes(refused)).toEqual(['PAYLOAD_TOO_LARGE']);

    // One byte over and exactly at the limit: the parser's silent truncation would make these look alike.
    const atLimit = Buffer.alloc(MAX_UPLOAD_BYTES, 0x41);
    expect(codes(await classify(Buffer.concat([atLimit, Buffer.from('A')]), 'over.bin'))).toEqual(['PAYLOAD_TOO_LARGE']);
    expect((await classify(atLimit, 'at-limit.bin')).errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NOT_AN_IMAGE' });
  });

  it('reports an oversized file of a batch in its item and classifies the rest', async () => {
    const oversized = await noiseImage(300, 300, 5, 'png');
    const response = await gqlUpload(app.url, CLASSIFY_BATCH, { images: [null, null] }, {
      'variables.images.0': { bytes: oversized, name: 'huge.png' },
      'variables.images.1': { bytes: jpeg, name: 'ok.jpg' },
    });
    expect(response.errors).toBeUndefined();
    const [first, second] = response.data!.classifyBatch;
    expect(first.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(second.prediction).not.toBeNull();
  });

  it('refuses a request body larger than MAX_FILES full-size files without reading it', async () => {
    const response = await classify(Buffer.alloc(MAX_FILES * MAX_UPLOAD_BYTES + 1_000_000, 1), 'enormous.bin');
    expect(response.status).toBe(413);
    expect(codes(response)).toEqual(['PAYLOAD_TOO_LARGE']);
  });

  it('refuses more than MAX_FILES files with TOO_MANY_FILES', async () => {
    const files = Object.fromEntries(Array.from({ length: MAX_FILES + 1 }, (_, i) => [`variables.images.${i}`, { bytes: jpeg, name: `${i}.jpg` }]));
    const response = await gqlUpload(app.url, CLASSIFY_BATCH, { images: Array(MAX_FILES + 1).fill(null) }, files);
    expect(response.status).toBe(413);
    expect(codes(response)).toEqual(['TOO_MANY_FILES']);
  });

  it('refuses a multipart request without the CSRF preflight header', async () => {
    const response = await classify(jpeg, 'lesion.jpg', { preflight: false });
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['BAD_REQUEST']);
    expect(response.errors![0].message).toMatch(/apollo-require-preflight/);
  });

  it('keeps serving after all of that', async () => {
    expect((await fetch(`${app.origin}/healthz`)).status).toBe(200);
    const response = await classify(jpeg);
    expect(response.errors).toBeUndefined();
    expect(response.data!.classify.modelVersion).toBe('v1');
  });

  it('counts classifications and operations in /metrics', async () => {
    const text = await (await fetch(`${app.origin}/metrics`)).text();
    const count = Number(/^classify_inference_seconds_count (\d+)/m.exec(text)?.[1]);
    expect(count).toBeGreaterThanOrEqual(20);
    expect(text).toMatch(/^graphql_requests_total\{operation="Classify",type="mutation",outcome="ok"\} \d+/m);
    expect(text).toMatch(/^graphql_requests_total\{operation="Classify",type="mutation",outcome="error"\} \d+/m);
    expect(text).toMatch(/^graphql_requests_refused_total\{code="TOO_MANY_FILES"\} 1/m);
    expect(text).toMatch(/^graphql_request_duration_seconds_count\{operation="ClassifyBatch",type="mutation"\} \d+/m);
    expect(text).toMatch(/^training_in_progress 0/m);
    expect(text).toMatch(/^model_ready 1/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('measures classify latency over HTTP', async () => {
    // The toy lesion at the size of a typical dermoscopic photo (a plain gradient would be refused as blurred).
    const photo = await sharp(jpeg).resize(600, 450, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer();
    for (const [name, bytes] of [['48px jpeg', jpeg], ['600x450 jpeg', photo]] as const) {
      const times: number[] = [];
      for (let i = 0; i < 25; i++) {
        const started = performance.now();
        const response = await classify(bytes);
        times.push(performance.now() - started);
        expect(response.errors).toBeUndefined();
      }
      const median = percentile(times, 50);
      console.log(`classify over HTTP, ${name} (${bytes.length} bytes): median ${median.toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms`);
      expect(median).toBeLessThan(1000);
    }
  });
});

describe('with CLASSIFY_TOKEN set', () => {
  let guarded: TestApp;

  beforeAll(async () => {
    guarded = await startTestApp({
      dataDir: toy.root,
      modelsDir,
      storeFile: path.join(modelsDir, 'runs.sqlite'),
      env: { ADMIN_TOKEN, CLASSIFY_TOKEN },
    });
    await guarded.modelLoaded;
  });

  afterAll(async () => {
    await guarded?.close();
  });

  const classifyOn = (token?: string) => gqlUpload(guarded.url, CLASSIFY, { image: null }, { 'variables.image': { bytes: jpeg, name: 'l.jpg' } }, { token });

  it('refuses classification without a token or with a wrong one', async () => {
    const missing = await classifyOn();
    expect(codes(missing)).toEqual(['UNAUTHENTICATED']);
    expect(missing.errors![0].message).toMatch(/Bearer/);
    expect(codes(await classifyOn('not-the-right-token-at-all'))).toEqual(['UNAUTHENTICATED']);
  });

  it('classifies with the classify token or the admin token', async () => {
    expect((await classifyOn(CLASSIFY_TOKEN)).data?.classify.modelVersion).toBe('v1');
    expect((await classifyOn(ADMIN_TOKEN)).data?.classify.modelVersion).toBe('v1');
  });

  it('does not let the classify token administer: FORBIDDEN', async () => {
    const response = await gql(guarded.url, 'mutation { rollbackModel { version } }', {}, { token: CLASSIFY_TOKEN });
    expect(codes(response)).toEqual(['FORBIDDEN']);
  });

  it('never writes a token to the log', () => {
    expect(guarded.logs.length).toBeGreaterThan(0);
    for (const line of [...guarded.logs, ...app.logs]) {
      expect(line).not.toContain(ADMIN_TOKEN);
      expect(line).not.toContain(CLASSIFY_TOKEN);
    }
  });
});
