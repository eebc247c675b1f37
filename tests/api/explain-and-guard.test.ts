// Explanations, uncertainty and the input guard through the real API: a toy model trained through
// the service, real images over multipart HTTP, and a model version saved before the guard existed.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToyDataset, noiseImage, solidImage, type ToyDataset } from '../helpers/images.js';
import { createNonLesionImages } from '../helpers/non-lesion-images.js';
import { ADMIN_TOKEN, gql, gqlUpload, percentile, startTestApp, tempDir, trainThroughService, type TestApp } from './helpers.js';

const PREDICTION_FIELDS = /* GraphQL */ `
  probability positive riskBand threshold label
  interval { lower upper level views }
  inputCheck { status note distance maxDistance appearanceDistance maxAppearanceDistance sharpness texture highlights shadows brightness }
`;
const CLASSIFY = /* GraphQL */ `
  mutation Classify($image: Upload!, $explain: Boolean) {
    classify(image: $image, explain: $explain) {
      ${PREDICTION_FIELDS}
      explanation { method layer explainedClass overlayPng heatmapPng width height region { left top width height } map { width height values } ms }
    }
  }
`;
const CLASSIFY_BATCH = /* GraphQL */ `
  mutation ClassifyBatch($images: [Upload!]!) {
    classifyBatch(images: $images) { index prediction { riskBand inputCheck { status } } error { code reason message } }
  }
`;

let toy: ToyDataset;
let app: TestApp;
let modelsDir: string;
let lesion: Buffer;

const classify = (bytes: Buffer, explain = false, name = 'image.jpg') => gqlUpload(app.url, CLASSIFY, { image: null, explain }, { 'variables.image': { bytes, name } });

function pngOf(dataUrl: string): Buffer {
  expect(dataUrl).toMatch(/^data:image\/png;base64,/);
  return Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64');
}

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 24, test: 8 }, size: 48, seed: 3 });
  modelsDir = await tempDir('api-explain-');
  // A low decoder minimum so images between it and the guard's own minimum reach the guard.
  app = await startTestApp({ dataDir: toy.root, modelsDir, storeFile: path.join(modelsDir, 'runs.sqlite'), env: { ADMIN_TOKEN, MIN_IMAGE_SIDE: '8' } });
  await app.modelLoaded;
  await trainThroughService(app, { epochs: 3 });
  expect(app.services.models.status().ready).toBe(true);
  lesion = await fs.readFile(toy.files.find((f) => f.split === 'test' && f.className === 'malignant')!.path);
});

afterAll(async () => {
  await app?.close();
  await toy?.cleanup();
  if (modelsDir) await fs.rm(modelsDir, { recursive: true, force: true });
});

describe('a version trained with the guard', () => {
  it('stores the fitted guard in its metadata', async () => {
    const metadata = JSON.parse(await fs.readFile(path.join(modelsDir, 'v1', 'metadata.json'), 'utf8'));
    expect(metadata.inputGuard).toMatchObject({ format: 'skin-cancer-detection/input-guard@1', minSide: 16 });
    expect(metadata.inputGuard.embedding.maxDistance).toBeGreaterThan(0);
    expect(metadata.inputGuard.appearance.density.mean).toHaveLength(metadata.inputGuard.appearance.density.dim);
    expect(metadata.inputGuard.fit.heldOutPassRate).toBeGreaterThanOrEqual(0.95);
  });

  it('lets the toy test lesions through with a probability, an interval and the guard measurements', async () => {
    const tests = toy.files.filter((f) => f.split === 'test');
    for (const file of tests) {
      const response = await classify(await fs.readFile(file.path));
      expect(response.errors, file.path).toBeUndefined();
      const p = response.data!.classify;
      expect(p.explanation).toBeNull();
      expect(p.interval.level).toBe(0.9);
      expect(p.interval.views).toHaveLength(8);
      expect(p.interval.lower).toBeLessThanOrEqual(p.interval.upper);
      expect(Math.min(...p.interval.views)).toBeLessThanOrEqual(p.interval.lower);
      expect(Math.max(...p.interval.views)).toBeGreaterThanOrEqual(p.interval.upper);
      const straddles = p.interval.lower < p.threshold && p.interval.upper >= p.threshold;
      const wide = p.interval.upper - p.interval.lower > 0.3;
      if (straddles || wide) expect(p.riskBand).toBe('UNCERTAIN');
      else expect(p.riskBand).toBe(p.probability < p.threshold ? 'LOW' : p.probability < p.threshold + (1 - p.threshold) / 2 ? 'MEDIUM' : 'HIGH');
      expect(p.inputCheck).toMatchObject({ status: 'PASSED', note: null });
      expect(p.inputCheck.distance).toBeLessThanOrEqual(p.inputCheck.maxDistance);
      expect(p.inputCheck.appearanceDistance).toBeLessThanOrEqual(p.inputCheck.maxAppearanceDistance);
    }
  });

  it('explains on request: an overlay PNG at the upload aspect ratio and a finite normalised map', async () => {
    // A wide photo of the lesion: the model sees its centred square, the overlay keeps the 3:2 shape.
    const wide = await sharp(lesion).resize(300, 200, { fit: 'fill' }).jpeg({ quality: 95 }).toBuffer();
    const response = await classify(wide, true, 'wide.jpg');
    expect(response.errors).toBeUndefined();
    const { explanation: e, label } = response.data!.classify;
    expect(e).toMatchObject({ method: 'grad-cam', explainedClass: label, width: 300, height: 200 });
    expect(e.layer).toMatch(/\w/);
    expect(e.region.left).toBeCloseTo(50 / 300, 5);
    expect(e.region).toMatchObject({ top: 0, height: 1 });
    expect(e.region.width).toBeCloseTo(200 / 300, 5);

    for (const png of [pngOf(e.overlayPng), pngOf(e.heatmapPng)]) {
      const meta = await sharp(png).metadata();
      expect(meta.format).toBe('png');
      expect([meta.width, meta.height]).toEqual([300, 200]);
    }
    const heat = await sharp(pngOf(e.heatmapPng)).raw().toBuffer({ resolveWithObject: true });
    expect(heat.info.channels).toBe(4);
    // The heat layer is transparent outside the square the model saw.
    const alphaAt = (x: number, y: number) => heat.data[(y * 300 + x) * 4 + 3]!;
    for (const y of [0, 100, 199]) for (const x of [0, 49, 250, 299]) expect(alphaAt(x, y)).toBe(0);

    // The last convolutional block of a 32 px network works on a few cells a side.
    expect(e.map.width).toBe(e.map.height);
    expect(e.map.width).toBeGreaterThanOrEqual(2);
    expect(e.map.width).toBeLessThanOrEqual(16);
    expect(e.map.values).toHaveLength(e.map.width * e.map.height);
    expect(e.map.values.every((v: number) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
    expect(Math.max(...e.map.values)).toBe(1);
    expect(e.ms).toBeGreaterThan(0);
  });

  it('refuses noise, solid colours and other non-lesions with UNSUITABLE_IMAGE and a reason, not a probability', async () => {
    const images = [
      { name: 'noise.png', bytes: await noiseImage(200, 200, 5), reasons: ['NOISY', 'NOT_A_LESION'] },
      { name: 'skin-colour.png', bytes: await solidImage(200, 200, [224, 172, 140]), reasons: ['BLURRY'] },
      { name: 'black.png', bytes: await solidImage(200, 200, [0, 0, 0]), reasons: ['UNDEREXPOSED'] },
      { name: 'white.png', bytes: await solidImage(200, 200, [255, 255, 255]), reasons: ['OVEREXPOSED'] },
      { name: 'blurred.jpg', bytes: await sharp(lesion).resize(200, 200).blur(12).jpeg().toBuffer(), reasons: ['BLURRY', 'NOT_A_LESION'] },
    ];
    for (const image of images) {
      const response = await classify(image.bytes, true, image.name);
      expect(response.data, image.name).toBeNull();
      const [error] = response.errors!;
      expect(error.extensions?.code, image.name).toBe('UNSUITABLE_IMAGE');
      expect(image.reasons, `${image.name}: ${error.message}`).toContain(error.extensions?.reason);
      expect(error.message.length).toBeGreaterThan(20);
    }
    const others = await createNonLesionImages({ perKind: 3, seed: 8 });
    for (const image of others) {
      const response = await classify(image.bytes, false, image.name);
      expect(response.errors?.[0]?.extensions?.code, `${image.name} was not refused`).toBe('UNSUITABLE_IMAGE');
    }
  });

  it('refuses an image too small to judge with LOW_RESOLUTION', async () => {
    // The model works at 32 px: a 12 px photo would reach it upscaled almost three times.
    const response = await classify(await sharp(lesion).resize(12, 12).png().toBuffer(), false, 'tiny.png');
    expect(response.data).toBeNull();
    expect(response.errors![0].extensions).toMatchObject({ code: 'UNSUITABLE_IMAGE', reason: 'LOW_RESOLUTION' });
    expect(response.errors![0].message).toMatch(/12x12.*at least 16 pixels/);
  });

  it('reports a refused image of a batch in its own item with the same code and reason', async () => {
    const response = await gqlUpload(app.url, CLASSIFY_BATCH, { images: [null, null] }, {
      'variables.images.0': { bytes: lesion, name: 'lesion.jpg' },
      'variables.images.1': { bytes: await solidImage(120, 120, [200, 150, 130]), name: 'plain.png' },
    });
    expect(response.errors).toBeUndefined();
    const [good, bad] = response.data!.classifyBatch;
    expect(good.error).toBeNull();
    expect(good.prediction.inputCheck.status).toBe('PASSED');
    expect(bad.prediction).toBeNull();
    expect(bad.error).toMatchObject({ code: 'UNSUITABLE_IMAGE', reason: 'BLURRY' });
  });

  it('measures the extra latency of explain: true over HTTP', async () => {
    const photo = await sharp(lesion).resize(600, 450, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer();
    const times: Record<string, number[]> = { plain: [], explain: [] };
    for (let i = 0; i < 12; i++) {
      for (const explain of [false, true]) {
        const started = performance.now();
        const response = await classify(photo, explain);
        times[explain ? 'explain' : 'plain']!.push(performance.now() - started);
        expect(response.errors).toBeUndefined();
      }
    }
    const plain = percentile(times.plain!, 50);
    const explained = percentile(times.explain!, 50);
    console.log(`classify 600x450 jpeg over HTTP: median ${plain.toFixed(1)} ms; with explain: true ${explained.toFixed(1)} ms (+${(explained - plain).toFixed(1)} ms)`);
  });
});

describe('a server that scores each image once (SCREENING_VIEWS=single)', () => {
  it('answers with the identity view\'s probability, the same input check and no interval', async () => {
    const single = await startTestApp({ dataDir: toy.root, modelsDir, storeFile: path.join(modelsDir, 'single.sqlite'), env: { SCREENING_VIEWS: 'single', MIN_IMAGE_SIDE: '8' } });
    try {
      await single.modelLoaded;
      const status = await gql(single.url, '{ modelStatus { screeningViews activeVersion } }');
      expect(status.data!.modelStatus).toEqual({ screeningViews: 'single', activeVersion: 'v1' });
      for (const file of toy.files.filter((f) => f.split === 'test')) {
        const bytes = await fs.readFile(file.path);
        const all = (await classify(bytes)).data!.classify;
        const once = await gqlUpload(single.url, CLASSIFY, { image: null, explain: false }, { 'variables.image': { bytes, name: 'image.jpg' } });
        expect(once.errors, file.path).toBeUndefined();
        const p = once.data!.classify;
        expect(p.interval).toBeNull();
        // The same calibrated score the eight-view server reports for the image as it is.
        expect(p.probability).toBeCloseTo(all.interval.views[0], 5);
        expect(p.positive).toBe(p.probability >= p.threshold);
        expect(p.riskBand).toBe(p.probability < p.threshold ? 'LOW' : p.probability < p.threshold + (1 - p.threshold) / 2 ? 'MEDIUM' : 'HIGH');
        expect(p.inputCheck.status).toBe('PASSED');
        expect(p.inputCheck.distance).toBeCloseTo(all.inputCheck.distance, 4);
      }
      const noise = await gqlUpload(single.url, CLASSIFY, { image: null, explain: false }, { 'variables.image': { bytes: await noiseImage(160, 160, 5), name: 'noise.png' } });
      expect(noise.errors?.[0]?.extensions?.code).toBe('UNSUITABLE_IMAGE');
    } finally {
      await single.close();
    }
  });
});

describe('a version saved before the guard existed', () => {
  it('still loads and classifies, with the input check off and a note saying why', async () => {
    const file = path.join(modelsDir, 'v1', 'metadata.json');
    const metadata = JSON.parse(await fs.readFile(file, 'utf8'));
    delete metadata.inputGuard;
    // A copy as a new version without guard data, promoted through the API's own registry.
    const copy = path.join(modelsDir, 'v2');
    await fs.cp(path.join(modelsDir, 'v1'), copy, { recursive: true });
    await fs.writeFile(path.join(copy, 'metadata.json'), JSON.stringify(metadata));
    await app.services.models.promote('v2');

    const response = await classify(await solidImage(120, 120, [200, 150, 130]));
    expect(response.errors).toBeUndefined();
    const p = response.data!.classify;
    expect(p.inputCheck).toMatchObject({ status: 'OFF', distance: null, maxDistance: null });
    expect(p.inputCheck.note).toMatch(/without input-guard data/);
    expect(p.interval.views).toHaveLength(8);
  });
});
