// Concurrent classify requests over real HTTP: they share forward passes, get the answers they
// would get one at a time, and an overloaded server refuses quickly with OVERLOADED / 503.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, codes, gqlUpload, startTestApp, tempDir, trainThroughService, type GraphQLResponse, type TestApp } from './helpers.js';

const CLASSIFY = /* GraphQL */ `
  mutation Classify($image: Upload!) {
    classify(image: $image) { probability label modelVersion }
  }
`;

let toy: ToyDataset;
let app: TestApp;
let modelsDir: string;
let images: Buffer[];

const classifyOn = (target: TestApp, bytes: Buffer) => gqlUpload(target.url, CLASSIFY, { image: null }, { 'variables.image': { bytes, name: 'lesion.jpg' } });

/** Like `classifyOn`, keeping the Retry-After header. */
async function classifyWithHeaders(target: TestApp, bytes: Buffer): Promise<GraphQLResponse & { retryAfter: string | null }> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: CLASSIFY, variables: { image: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.image'] }));
  form.append('0', new Blob([new Uint8Array(bytes)]), 'lesion.jpg');
  const response = await fetch(target.url, { method: 'POST', headers: { 'apollo-require-preflight': 'true' }, body: form });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ...((await response.json()) as object) };
}

async function metric(target: TestApp, name: string): Promise<number> {
  const text = await (await fetch(`${target.origin}/metrics`)).text();
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  if (value === undefined) throw new Error(`${name} is not in /metrics`);
  return Number(value);
}

const probabilityOf = (response: GraphQLResponse): number => {
  expect(response.errors).toBeUndefined();
  return response.data!.classify.probability as number;
};

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 24, test: 12 }, size: 48, seed: 5 });
  modelsDir = await tempDir('api-batching-');
  app = await startTestApp({ dataDir: toy.root, modelsDir, storeFile: path.join(modelsDir, 'runs.sqlite'), env: { ADMIN_TOKEN } });
  await app.modelLoaded;
  await trainThroughService(app, { epochs: 2 });
  expect(app.services.models.status().ready).toBe(true);
  images = await Promise.all(toy.files.filter((f) => f.split === 'test').map((f) => fs.readFile(f.path)));
});

afterAll(async () => {
  await app?.close();
  await toy?.cleanup();
  if (modelsDir) await fs.rm(modelsDir, { recursive: true, force: true });
});

describe('concurrent classify requests', () => {
  it('get the answers sequential requests get, from shared forward passes, without leaking tensors', async () => {
    const sequential: number[] = [];
    for (const image of images) sequential.push(probabilityOf(await classifyOn(app, image)));
    const distinct = new Set(sequential.map((p) => p.toFixed(6)));
    expect(distinct.size).toBeGreaterThan(1); // otherwise a mix-up between requests could not show

    const batchesBefore = await metric(app, 'classify_batches_total');
    const imagesBefore = await metric(app, 'classify_batched_images_total');
    const tensorsBefore = (await app.services.models.inferenceMemory()).numTensors;
    // Within the admission limit (64), so every request is served.
    const rounds = 2;
    const burst = Array.from({ length: rounds }, () => images).flat();
    const concurrent = (await Promise.all(burst.map((image) => classifyOn(app, image)))).map(probabilityOf);

    concurrent.forEach((p, i) => expect(p).toBeCloseTo(sequential[i % images.length]!, 5));
    const batches = (await metric(app, 'classify_batches_total')) - batchesBefore;
    const batched = (await metric(app, 'classify_batched_images_total')) - imagesBefore;
    expect(batched).toBe(burst.length);
    // Shared passes: fewer forward passes than requests.
    expect(batches).toBeLessThan(burst.length);
    expect((await app.services.models.inferenceMemory()).numTensors).toBe(tensorsBefore);
    expect(await metric(app, 'classify_in_progress')).toBe(0);
  });

  it('answers a lone request without waiting for company', async () => {
    const batchesBefore = await metric(app, 'classify_batches_total');
    probabilityOf(await classifyOn(app, images[0]!));
    expect((await metric(app, 'classify_batches_total')) - batchesBefore).toBe(1);
  });
});

describe('with CLASSIFY_MAX_PENDING=1', () => {
  let tiny: TestApp;

  beforeAll(async () => {
    // Same model folder, so it serves the model trained above.
    tiny = await startTestApp({
      dataDir: toy.root,
      modelsDir,
      storeFile: path.join(modelsDir, 'runs-tiny.sqlite'),
      env: { CLASSIFY_MAX_PENDING: '1', AUTO_TRAIN: 'false' },
    });
    await tiny.modelLoaded;
    expect(tiny.services.models.status().ready).toBe(true);
  });

  afterAll(async () => {
    await tiny?.close();
  });

  it('refuses what does not fit with OVERLOADED and HTTP 503, classifies the rest, and keeps serving', async () => {
    // A large photo keeps its admitted slot busy decoding while the others arrive.
    // A toy lesion as a 3000x2000 photo: a plain gradient would now be refused as blurred, not served.
    const photo = await sharp(images[0]!).resize(3000, 2000, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer();
    const requests = [photo, ...images, ...images];
    const responses = await Promise.all(requests.map((image) => classifyWithHeaders(tiny, image)));

    const refused = responses.filter((r) => codes(r).includes('OVERLOADED'));
    const served = responses.filter((r) => r.errors === undefined);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.length + served.length).toBe(requests.length);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.retryAfter).toBe('1');
      expect(r.data ?? null).toBeNull();
      expect(r.errors![0].message).toMatch(/busy/);
    }
    expect(await metric(tiny, 'classify_overloaded_total')).toBe(refused.length);

    // Nothing stays admitted: the next request is served.
    expect(await metric(tiny, 'classify_in_progress')).toBe(0);
    expect(probabilityOf(await classifyOn(tiny, images[0]!))).toBeGreaterThanOrEqual(0);
  });
});

describe('a crash of the inference thread', () => {
  it('fails only the classifications it held, with INFERENCE_FAILED; a new thread serves the same model', async () => {
    const expected = probabilityOf(await classifyOn(app, images[0]!));
    const restartsBefore = app.services.models.inferenceRestarts();
    const batchesBefore = app.services.models.batchingStats().batches;
    // More images than one pass takes: when the first pass is answered, the next is in the thread.
    const burst = [...images, ...images];
    const outcomes = burst.map((image) =>
      app.services.models.classify(image).then(
        () => 'ok',
        (error: unknown) => (error as { code?: string }).code ?? String(error),
      ),
    );
    while (app.services.models.batchingStats().batches === batchesBefore) await new Promise((resolve) => setImmediate(resolve));
    await app.services.models.crashInferenceForTesting();
    const settled = await Promise.all(outcomes);

    const counts = settled.reduce<Record<string, number>>((c, o) => ({ ...c, [o]: (c[o] ?? 0) + 1 }), {});
    console.log(`inference thread killed during a burst of ${burst.length} classifications: ${JSON.stringify(counts)}`);
    expect(Object.keys(counts).every((o) => o === 'ok' || o === 'INFERENCE_FAILED'), JSON.stringify(counts)).toBe(true);
    expect(app.services.models.inferenceRestarts()).toBe(restartsBefore + 1);
    // The replacement loaded the served version again: same answer, over HTTP.
    expect(probabilityOf(await classifyOn(app, images[0]!))).toBeCloseTo(expected, 5);
    expect(app.services.models.status().ready).toBe(true);
  });
});

describe('a promotion while classifications are in flight', () => {
  it('answers every request with the old or the new version, and frees the old one in the inference thread', async () => {
    const before = app.services.models.status().activeVersion!;
    const runId = await trainThroughService(app, { epochs: 1, seed: 9 });
    const next = app.services.runs.get(runId)!.modelVersion!;
    expect(next).not.toBe(before);
    const tensorsWithOneVersion = (await app.services.models.inferenceMemory()).numTensors;

    const burst = [...images, ...images];
    const responses = burst.map((image) => classifyOn(app, image));
    // Promote while the burst is being decoded and batched.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await app.services.models.promote(next);
    const versions = (await Promise.all(responses)).map((r) => {
      expect(r.errors).toBeUndefined();
      return r.data!.classify.modelVersion as string;
    });
    expect(new Set(versions).size).toBeGreaterThanOrEqual(1);
    expect(versions.every((v) => v === before || v === next)).toBe(true);
    expect((await classifyOn(app, images[0]!)).data!.classify.modelVersion).toBe(next);
    // Same architecture, so the same number of weight tensors: had the retired version stayed
    // loaded, there would be twice as many.
    expect((await app.services.models.inferenceMemory()).numTensors).toBe(tensorsWithOneVersion);
  });
});
