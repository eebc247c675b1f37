import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { loadImageFolder, subset, type LabelledImages } from '../../server/ml/dataset.js';
import { stratifiedGroupFolds, stratifiedSplit, foldSplit } from '../../server/ml/splits.js';
import { nearDuplicateGroups, perceptualHashes } from '../../server/ml/near-duplicates.js';
import { assignFolds, crossValidate } from '../../server/ml/cross-validation.js';
import { createRng } from '../../server/ml/random.js';
import { hammingDistance } from '../../server/dataset/perceptual-hash.js';
import { defaultTrainingParams } from '../../server/ml/types.js';
import { createToyDataset, toyLesionPixels, type ToyDataset } from '../helpers/images.js';

describe('stratifiedGroupFolds', () => {
  const labels = Uint8Array.from({ length: 100 }, (_, i) => (i % 10 < 3 ? 1 : 0));
  // Images 0-4 are one group, 10-12 another, 50-51 a third; the rest stand alone.
  const groups = labels.map((_, i) => (i < 5 ? 0 : i >= 10 && i <= 12 ? 10 : i === 51 ? 50 : i)) as unknown as number[];
  const groupList = Array.from(groups);

  it('puts every image in one fold, keeps groups together and balances each class', () => {
    const fold = stratifiedGroupFolds(labels, 3, 7, groupList);
    expect(fold.every((f) => f >= 0 && f < 3)).toBe(true);
    expect(new Set(fold.slice(0, 5)).size).toBe(1);
    expect(new Set(fold.slice(10, 13)).size).toBe(1);
    expect(fold[50]).toBe(fold[51]);
    for (const label of [0, 1]) {
      const perFold = [0, 1, 2].map((k) => fold.filter((f, i) => f === k && labels[i] === label).length);
      const share = labels.filter((l) => l === label).length / 3;
      // Off by at most the largest group.
      for (const n of perFold) expect(Math.abs(n - share)).toBeLessThanOrEqual(5);
    }
  });

  it('is reproducible from the seed and changes with it', () => {
    expect(stratifiedGroupFolds(labels, 3, 7, groupList)).toEqual(stratifiedGroupFolds(labels, 3, 7, groupList));
    expect(stratifiedGroupFolds(labels, 3, 8, groupList)).not.toEqual(stratifiedGroupFolds(labels, 3, 7, groupList));
  });

  it('splits into held-out and training indices that cover every image once', () => {
    const fold = stratifiedGroupFolds(labels, 4, 1);
    const seen = new Array<number>(labels.length).fill(0);
    for (let k = 0; k < 4; k++) {
      const { train, validation } = foldSplit(fold, k);
      expect(train.length + validation.length).toBe(labels.length);
      for (const i of validation) seen[i]++;
    }
    expect(seen.every((n) => n === 1)).toBe(true);
  });

  it('refuses fold counts it cannot honour', () => {
    expect(() => stratifiedGroupFolds(labels, 1, 0)).toThrow(/at least 2/);
    expect(() => stratifiedGroupFolds(Uint8Array.from([0, 0, 0, 1]), 2, 0)).toThrow(/fewer than the 2 folds/);
    // One group holding every positive cannot be spread over two folds.
    expect(() => stratifiedGroupFolds(Uint8Array.from([1, 1, 0, 0, 0, 0]), 2, 0, [0, 0, 2, 3, 4, 5])).toThrow(/no image of class 1/);
    expect(() => stratifiedGroupFolds(labels, 2, 0, [1, 2])).toThrow(/group numbers/);
  });
});

describe('near-duplicate groups', () => {
  it('links pairs within the distance, transitively, and nothing else', () => {
    const a = '0000000000000000';
    const b = '000000000000000f'; // 4 bits from a
    const c = '00000000000000ff'; // 4 bits from b, 8 from a
    const far = 'ffffffffffffffff';
    expect(nearDuplicateGroups([a, b, c, far], 4)).toEqual([0, 0, 0, 3]);
    expect(nearDuplicateGroups([a, b, c, far], 3)).toEqual([0, 1, 2, 3]);
  });

  it('hashes a re-exposed copy of a picture close to the original and a different picture far from it', () => {
    const size = 64;
    const rng = createRng(5);
    const original = toyLesionPixels(size, 'malignant', rng);
    const brighter = original.map((v) => Math.min(255, v + 12));
    const other = toyLesionPixels(size, 'benign', rng);
    const pixels = new Uint8Array(size * size * 3 * 3);
    pixels.set(original, 0);
    pixels.set(brighter, size * size * 3);
    pixels.set(other, 2 * size * size * 3);
    const [h0, h1, h2] = perceptualHashes({ size, count: 3, pixels });
    expect(hammingDistance(h0, h1)).toBeLessThanOrEqual(4);
    expect(hammingDistance(h0, h2)).toBeGreaterThan(6);
  });
});

describe('crossValidate on the WASM backend', () => {
  let toy: ToyDataset;
  let images: LabelledImages;

  beforeAll(async () => {
    await initBackend();
    toy = await createToyDataset({ splits: { train: 24 }, size: 48, seed: 11 });
    const loaded = await loadImageFolder(toy.splitDir('train'), { imageSize: 32 });
    // Append an exact copy of image 0: it must land in image 0's fold.
    images = subset(loaded, [...Array(loaded.count).keys(), 0]);
  });

  afterAll(() => toy?.cleanup());

  it('judges every image once with a model that never saw it, and leaks no tensors', async () => {
    const params = { ...defaultTrainingParams, imageSize: 32, epochs: 4, batchSize: 16, seed: 3 };
    for (const seed of [0, 1, 2, 3, 4]) {
      const { fold } = assignFolds(images, 3, seed);
      expect(fold[images.count - 1]).toBe(fold[0]);
    }

    const before = tf.memory().numTensors;
    const started: number[] = [];
    const summary = await crossValidate(images, params, { folds: 2 }, { onFoldStart: (k) => started.push(k) });
    expect(tf.memory().numTensors).toBe(before);

    expect(started).toEqual([0, 1]);
    expect(summary.imagesJudged).toBe(images.count);
    expect(summary.folds.map((f) => f.validationCount).reduce((a, b) => a + b)).toBe(images.count);
    expect(summary.folds.every((f) => f.trainCount + f.validationCount === images.count)).toBe(true);
    expect(summary.nearDuplicateGroups.images).toBeGreaterThanOrEqual(2);
    // The toy classes are easy: a model that learned nothing would sit near 0.5.
    expect(summary.pooledAuc).toBeGreaterThan(0.8);
    expect(summary.meanAuc).toBeCloseTo((summary.folds[0].auc + summary.folds[1].auc) / 2, 10);
    // The rule was fitted on the held-out fold itself: no transfer to report; one network, no ensemble grid.
    expect(summary.pooledTransfer).toBeUndefined();
    expect(summary.pooledByConfiguration).toBeUndefined();
    const total = summary.folds.reduce((n, f) => n + f.confusionMatrix.tp + f.confusionMatrix.fn, 0);
    expect(summary.pooledSensitivity * total).toBeCloseTo(summary.folds.reduce((n, f) => n + f.confusionMatrix.tp, 0), 6);
  }, 120_000);

  it('runs only the folds asked for', async () => {
    const params = { ...defaultTrainingParams, imageSize: 32, epochs: 1, batchSize: 16, seed: 3 };
    const summary = await crossValidate(images, params, { folds: 3, onlyFolds: [1] });
    expect(summary.folds.map((f) => f.fold)).toEqual([1]);
    expect(summary.imagesJudged).toBe(summary.folds[0].validationCount);
    await expect(crossValidate(images, params, { folds: 3, onlyFolds: [3] })).rejects.toThrow(/outside 0..2/);
  }, 120_000);

  it('with an ensemble recipe, reports every member count under 1, 2, 4 and 8 views; all of them is the fold itself', async () => {
    const params = { ...defaultTrainingParams, imageSize: 32, epochs: 2, batchSize: 16, seed: 3, ensembleMembers: 2 };
    const before = tf.memory().numTensors;
    const summary = await crossValidate(images, params, { folds: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const grid = ['1x1', '1x2', '1x4', '1x8', '2x1', '2x2', '2x4', '2x8'];
    for (const f of summary.folds) {
      expect(f.byConfiguration!.map((c) => `${c.members}x${c.views}`)).toEqual(grid);
      // The full ensemble under all eight views is what the fold's own figures measure.
      expect(f.byConfiguration!.at(-1)!.auc).toBeCloseTo(f.auc, 10);
    }
    expect(summary.pooledByConfiguration!.map((c) => `${c.members}x${c.views}`)).toEqual(grid);
    expect(summary.pooledByConfiguration!.at(-1)!.auc).toBeCloseTo(summary.pooledAuc, 10);
    const first = summary.pooledByConfiguration![0]!;
    expect(first.meanAuc).toBeCloseTo((summary.folds[0]!.byConfiguration![0]!.auc + summary.folds[1]!.byConfiguration![0]!.auc) / 2, 10);
  }, 120_000);

  it('with thresholdTransfer, fits the rule on an inner split and only measures on the held-out fold', async () => {
    const params = { ...defaultTrainingParams, imageSize: 32, epochs: 3, batchSize: 16, seed: 3, testTimeAugmentation: false };
    const targets = [0.5, 0.99];
    const before = tf.memory().numTensors;
    const summary = await crossValidate(images, params, { folds: 2, thresholdTransfer: { innerValidationFraction: 0.3, targets } });
    expect(tf.memory().numTensors).toBe(before);
    for (const f of summary.folds) {
      // Three disjoint parts: the model's training images, the rule's, the held-out fold.
      expect(f.innerValidationCount).toBeGreaterThan(0);
      expect(f.trainCount + f.innerValidationCount! + f.validationCount).toBe(images.count);
      expect(f.transfer!.map((t) => t.target)).toEqual(targets);
      for (const t of f.transfer!) {
        expect(t.innerSensitivity).toBeGreaterThanOrEqual(t.target);
        const { tp, fn, tn, fp } = t.confusionMatrix;
        expect(tp + fn + tn + fp).toBe(f.validationCount);
        expect(t.sensitivity).toBeCloseTo(tp / (tp + fn), 10);
      }
      // A higher target can only lower the threshold.
      expect(f.transfer![1]!.threshold).toBeLessThanOrEqual(f.transfer![0]!.threshold);
    }
    for (const [j, pooled] of summary.pooledTransfer!.entries()) {
      const tp = summary.folds.reduce((n, f) => n + f.transfer![j]!.confusionMatrix.tp, 0);
      expect(pooled.confusionMatrix.tp).toBe(tp);
      expect(pooled.confusionMatrix.tp + pooled.confusionMatrix.fn + pooled.confusionMatrix.tn + pooled.confusionMatrix.fp).toBe(summary.imagesJudged);
    }
  }, 120_000);

  it('with refit, also trains on the whole training part and measures it under the inner split\'s rule', async () => {
    const params = { ...defaultTrainingParams, imageSize: 32, epochs: 2, batchSize: 16, seed: 3, testTimeAugmentation: false };
    const targets = [0.5, 0.9];
    const refitStarts: { fold: number; trainCount: number }[] = [];
    const epochAucs: number[] = [];
    const before = tf.memory().numTensors;
    const summary = await crossValidate(
      images,
      params,
      { folds: 2, thresholdTransfer: { innerValidationFraction: 0.3, targets, refit: true } },
      { onRefitStart: (fold, trainCount) => refitStarts.push({ fold, trainCount }), onEpochEnd: (e) => epochAucs.push(e.validationAuc) },
    );
    expect(tf.memory().numTensors).toBe(before);
    // Per fold: the split run's epochs (validated on the inner split), then the refit's (no validation).
    expect(epochAucs.map(Number.isNaN)).toEqual([false, false, true, true, false, false, true, true]);
    for (const f of summary.folds) {
      const refit = f.refit!;
      expect(refitStarts.find((r) => r.fold === f.fold)!.trainCount).toBe(f.trainCount + f.innerValidationCount!);
      expect(refit.trainCount).toBe(f.trainCount + f.innerValidationCount!);
      expect(refit.auc).toBeGreaterThanOrEqual(0);
      // The borrowed thresholds are the inner split's, measured again on the held-out fold.
      expect(refit.transfer.map((t) => t.threshold)).toEqual(f.transfer!.map((t) => t.threshold));
      for (const t of refit.transfer) {
        const { tp, fn, tn, fp } = t.confusionMatrix;
        expect(tp + fn + tn + fp).toBe(f.validationCount);
        expect(t.specificity).toBeCloseTo(tn / (tn + fp), 10);
      }
    }
    const refit = summary.pooledRefit!;
    expect(refit.meanAuc).toBeCloseTo((summary.folds[0]!.refit!.auc + summary.folds[1]!.refit!.auc) / 2, 10);
    for (const [j, pooled] of refit.transfer.entries()) {
      expect(pooled.confusionMatrix.fn).toBe(summary.folds.reduce((n, f) => n + f.refit!.transfer[j]!.confusionMatrix.fn, 0));
    }
  }, 120_000);
});

describe('stratifiedSplit with near-duplicate groups', () => {
  const labels = Uint8Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 1 : 0));
  // Runs of five consecutive images form groups (mixed labels in some), the rest stand alone.
  const groups = Array.from(labels, (_, i) => (i < 60 ? Math.floor(i / 5) * 5 : i));

  it('holds out about the share of each class, whole groups at a time', () => {
    const { train, validation } = stratifiedSplit(labels, 0.2, 3, groups);
    expect([...train, ...validation].sort((a, b) => a - b)).toEqual([...labels.keys()]);
    const inValidation = new Set(validation);
    for (let g = 0; g < 60; g += 5) {
      const sides = new Set([0, 1, 2, 3, 4].map((k) => inValidation.has(g + k)));
      expect(sides.size).toBe(1);
    }
    for (const label of [0, 1]) {
      const total = labels.filter((l) => l === label).length;
      const held = validation.filter((i) => labels[i] === label).length;
      // Within a group's size of the share (mixed groups can add a few of the other class).
      expect(held).toBeLessThanOrEqual(Math.round(0.2 * total) + 4);
      expect(held).toBeGreaterThanOrEqual(Math.round(0.2 * total) - 4);
    }
    expect(stratifiedSplit(labels, 0.2, 3, groups)).toEqual({ train, validation });
  });

  it('keeps a training image of every class and holds out one of a small class', () => {
    const small = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 0]);
    const { train, validation } = stratifiedSplit(small, 0.1, 1, [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(validation.filter((i) => small[i] === 1)).toHaveLength(1);
    expect(train.some((i) => small[i] === 1)).toBe(true);
    // Both positives in one group: holding it out would leave training without a positive.
    const together = stratifiedSplit(small, 0.5, 1, [0, 0, 2, 3, 4, 5, 6, 7]);
    expect(together.train.filter((i) => small[i] === 1)).toHaveLength(2);
    expect(() => stratifiedSplit(small, 1, 1, [0, 1, 2, 3, 4, 5, 6, 7])).toThrow(/validationFraction/);
  });
});
