// The input guard's parts on real pixels and real tfjs: quality measures, the embedding density,
// fitting on a trained toy model, and refusing non-lesions while letting toy lesions through.
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { loadImageFolder, subset, type LabelledImages } from '../../server/ml/dataset.js';
import { stratifiedSplit } from '../../server/ml/splits.js';
import { decodeImage } from '../../server/ml/preprocess.js';
import { trainModel } from '../../server/ml/train.js';
import { defaultTrainingParams } from '../../server/ml/types.js';
import { Classifier } from '../../server/ml/classifier.js';
import { Screener } from '../../server/ml/screening.js';
import { checkQuality, fitQualityLimits, measureQuality } from '../../server/ml/guard/image-quality.js';
import { embeddingDistance, fitEmbeddingDensity, symmetricEigen } from '../../server/ml/guard/ood.js';
import { fitInputGuard } from '../../server/ml/guard/fit-guard.js';
import { GUARD_OFF_NOTE, InputGuard, UnsuitableImageError } from '../../server/ml/guard/input-guard.js';
import { createRng } from '../../server/ml/random.js';
import { createToyDataset, noiseImage, solidImage, type ToyDataset } from '../helpers/images.js';
import { createNonLesionImages } from '../helpers/non-lesion-images.js';

const SIZE = 32;

async function pixelsOf(bytes: Buffer, size = SIZE): Promise<Uint8Array> {
  return (await decodeImage(bytes, size)).pixels;
}

describe('measureQuality', () => {
  it('tells sharp from blurred, noise from skin, and blown-out or black pictures', async () => {
    const toy = await createToyDataset({ splits: { train: 2 }, size: 96, seed: 1 });
    try {
      const lesion = await fs.readFile(toy.files[0]!.path);
      const sharpLesion = measureQuality(await pixelsOf(lesion, 96), 96);
      const blurred = measureQuality(await pixelsOf(await sharp(lesion).blur(6).png().toBuffer(), 96), 96);
      const noise = measureQuality(await pixelsOf(await noiseImage(96, 96, 2), 96), 96);
      const white = measureQuality(await pixelsOf(await solidImage(96, 96, [255, 255, 255]), 96), 96);
      const black = measureQuality(await pixelsOf(await solidImage(96, 96, [0, 0, 0]), 96), 96);

      expect(blurred.sharpness).toBeLessThan(sharpLesion.sharpness - 1);
      expect(noise.texture).toBeGreaterThan(5 * sharpLesion.texture);
      expect(noise.smoothness).toBeLessThan(0.3);
      expect(sharpLesion.smoothness).toBeGreaterThan(0.5); // the toy pictures carry pixel noise of their own
      expect(white).toMatchObject({ highlights: 1, shadows: 0, brightness: 255, sharpness: 0, texture: 0, smoothness: 1 });
      expect(black).toMatchObject({ highlights: 0, shadows: 1, brightness: 0 });
    } finally {
      await toy.cleanup();
    }
  });

  it('fitted limits pass the images they were fitted on and name the problem of each bad one', () => {
    const typical = { sharpness: 2.5, texture: 6, smoothness: 0.95, highlights: 0.01, shadows: 0.02, brightness: 150 };
    const rng = createRng(3);
    const measures = Array.from({ length: 400 }, () => ({
      sharpness: typical.sharpness + rng.uniform(-0.4, 0.4),
      texture: typical.texture + rng.uniform(-2, 2),
      smoothness: typical.smoothness + rng.uniform(-0.2, 0.04),
      highlights: rng.uniform(0, 0.03),
      shadows: rng.uniform(0, 0.05),
      brightness: typical.brightness + rng.uniform(-30, 30),
    }));
    const limits = fitQualityLimits(measures);
    expect(measures.filter((m) => checkQuality(m, limits) !== null)).toEqual([]);
    expect(checkQuality({ ...typical, sharpness: 0.5 }, limits)?.problem).toBe('BLURRY');
    expect(checkQuality({ ...typical, texture: 40 }, limits)?.problem).toBe('NOISY');
    expect(checkQuality({ ...typical, smoothness: 0.2 }, limits)?.problem).toBe('NOISY');
    expect(checkQuality({ ...typical, highlights: 0.5 }, limits)?.problem).toBe('OVEREXPOSED');
    expect(checkQuality({ ...typical, brightness: 250 }, limits)?.problem).toBe('OVEREXPOSED');
    expect(checkQuality({ ...typical, shadows: 0.6 }, limits)?.problem).toBe('UNDEREXPOSED');
    expect(checkQuality({ ...typical, brightness: 40 }, limits)?.problem).toBe('UNDEREXPOSED');
  });
});

describe('embedding density', () => {
  it('symmetricEigen recovers a known decomposition', () => {
    // [[2, 1, 0], [1, 2, 0], [0, 0, 5]]: eigenvalues 5, 3, 1.
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
    expect(Array.from(values)).toEqual([expect.closeTo(5, 9), expect.closeTo(3, 9), expect.closeTo(1, 9)]);
    expect(Math.abs(vectors[2]!)).toBeCloseTo(1, 9);
    expect(Math.abs(vectors[3]!)).toBeCloseTo(Math.SQRT1_2, 9);
    expect(vectors[3]! * vectors[4]!).toBeCloseTo(0.5, 9);
    expect(vectors[6]! * vectors[7]!).toBeCloseTo(-0.5, 9);
  });

  it('gives typical points a distance near 1 and points off the data far larger ones, even with fewer points than dimensions', () => {
    const rng = createRng(9);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    // 20 dimensions, variance concentrated in the first three (like a network's embedding).
    const sample = (dim: number) => Float32Array.from({ length: dim }, (_, j) => gaussian() * (j < 3 ? 5 : 0.2) + 10);
    for (const n of [500, 12]) {
      const rows = new Float32Array(n * 20);
      for (let i = 0; i < n; i++) rows.set(sample(20), i * 20);
      const density = fitEmbeddingDensity(rows, 20, 4);
      const typical = Array.from({ length: 200 }, () => embeddingDistance(density, sample(20)));
      const median = typical.sort((a, b) => a - b)[100]!;
      expect(typical.every(Number.isFinite)).toBe(true);
      if (n === 500) expect(median).toBeGreaterThan(0.7);
      expect(median).toBeLessThan(n === 500 ? 1.3 : 3);
      // Off the data in a direction it never varies in: far away, though the same size as one standard deviation of the main directions.
      const off = sample(20);
      off[10]! += 5;
      expect(embeddingDistance(density, off)).toBeGreaterThan(3 * median);
    }
  });
});

describe('the guard of a model trained on toy lesions', () => {
  let toy: ToyDataset;
  let model: tf.LayersModel;
  let train: LabelledImages;
  let validation: LabelledImages;
  let screener: Screener;

  beforeAll(async () => {
    await initBackend();
    toy = await createToyDataset({ splits: { train: 30, test: 10 }, size: 48, seed: 21 });
    const all = await loadImageFolder(toy.splitDir('train'), { imageSize: SIZE });
    const split = stratifiedSplit(all.labels, 0.2, 4);
    train = subset(all, split.train);
    validation = subset(all, split.validation);
    ({ model } = await trainModel({ train, validation }, { ...defaultTrainingParams, architecture: 'original-cnn', imageSize: SIZE, epochs: 3, batchSize: 16, seed: 5 }));
    const guard = fitInputGuard(model, train, validation);
    const metadata = { version: 'toy', imageSize: SIZE, threshold: 0.5, classNames: ['benign', 'malignant'], positiveClass: 'malignant', inputGuard: guard } as never;
    screener = new Screener(new Classifier(model, metadata));
  }, 300_000);

  afterAll(async () => {
    model?.dispose();
    await toy?.cleanup();
  });

  const outcome = (bytes: Buffer) =>
    screener.screen(bytes).then(
      (s) => ({ passed: true as const, s }),
      (error: unknown) => {
        if (!(error instanceof UnsuitableImageError)) throw error;
        return { passed: false as const, reason: error.reason };
      },
    );

  it('is fitted so the held-out images pass', () => {
    const guard = InputGuard.forModel(screener.classifier.metadata);
    expect(guard.active).toBe(true);
    expect(guard.data!.fit).toMatchObject({ fittedOn: train.count, heldOut: validation.count });
    expect(guard.data!.fit.heldOutPassRate).toBeGreaterThanOrEqual(0.95);
  });

  it('lets toy test lesions through and refuses noise, solid colours, text, shapes and spoiled lesions', async () => {
    const lesions = toy.files.filter((f) => f.split === 'test');
    const passed = [];
    for (const file of lesions) passed.push((await outcome(await fs.readFile(file.path))).passed);
    expect(passed.filter(Boolean).length).toBeGreaterThanOrEqual(Math.ceil(0.9 * lesions.length));

    const spoiled = await Promise.all(lesions.slice(0, 3).map((f) => fs.readFile(f.path)));
    const others = await createNonLesionImages({ perKind: 4, lesions: spoiled, seed: 2 });
    const refusals: Record<string, string[]> = {};
    for (const image of others) {
      const result = await outcome(image.bytes);
      (refusals[image.kind] ??= []).push(result.passed ? 'PASSED' : result.reason);
    }
    for (const [kind, reasons] of Object.entries(refusals)) expect(reasons, kind).not.toContain('PASSED');
    expect(refusals.solid).toContain('BLURRY');
    expect(refusals['blurred-lesion']!.every((r) => r === 'BLURRY')).toBe(true);
    expect(refusals['overexposed-lesion']!.every((r) => r === 'OVEREXPOSED')).toBe(true);
    expect(refusals['underexposed-lesion']!.every((r) => r === 'UNDEREXPOSED')).toBe(true);
  });

  it('leaves no tensors behind, with or without an explanation', async () => {
    const lesion = await fs.readFile(toy.files.find((f) => f.split === 'test')!.path);
    await screener.screen(lesion, { explain: true });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      await screener.screen(lesion);
      await screener.screen(lesion, { explain: true });
      await outcome(await noiseImage(64, 64, i));
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a version without guard data', () => {
  it('checks nothing and says so', async () => {
    const guard = InputGuard.forModel({});
    expect(guard.active).toBe(false);
    const decoded = await decodeImage(await solidImage(64, 64, [0, 0, 0]), SIZE);
    const inspection = guard.inspect(decoded);
    expect(guard.distanceOf([1, 2, 3])).toBeNull();
    expect(guard.conclude(inspection, null)).toMatchObject({ status: 'off', note: GUARD_OFF_NOTE, distance: null });
  });

  it('treats malformed guard data as absent', () => {
    expect(InputGuard.forModel({ inputGuard: { format: 'skin-cancer-detection/input-guard@1' } as never }).active).toBe(false);
  });
});
