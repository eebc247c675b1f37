import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { loadImageFolder, subset, type LabelledImages } from '../../server/ml/dataset.js';
import { stratifiedSplit } from '../../server/ml/splits.js';
import { balancedClassWeights, trainModel, TrainingCancelledError, type BatchProgress } from '../../server/ml/train.js';
import { predictScores } from '../../server/ml/predict.js';
import { defaultTrainingParams, type TrainingParams } from '../../server/ml/types.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';

const SIZE = 32;
let toy: ToyDataset;
let train: LabelledImages;
let validation: LabelledImages;
let test: LabelledImages;

const params = (overrides: Partial<TrainingParams> = {}): TrainingParams => ({
  ...defaultTrainingParams,
  imageSize: SIZE,
  epochs: 6,
  batchSize: 16,
  seed: 7,
  ...overrides,
});

beforeAll(async () => {
  await initBackend();
  toy = await createToyDataset({ splits: { train: 40, test: 12 }, size: 48, seed: 3 });
  const all = await loadImageFolder(toy.splitDir('train'), { imageSize: SIZE });
  const split = stratifiedSplit(all.labels, 0.2, 1);
  train = subset(all, split.train);
  validation = subset(all, split.validation);
  test = await loadImageFolder(toy.splitDir('test'), { imageSize: SIZE });
});

afterAll(() => toy?.cleanup());

describe('balancedClassWeights', () => {
  it('weights each class by n / (2 * its count)', () => {
    // 1 positive, 3 negatives: positive 4/(2*1) = 2, negative 4/(2*3) = 2/3.
    const w = balancedClassWeights(Uint8Array.from([0, 0, 0, 1]));
    expect(w.positive).toBeCloseTo(2);
    expect(w.negative).toBeCloseTo(2 / 3);
  });

  it('falls back to equal weights when a class is missing', () => {
    expect(balancedClassWeights(Uint8Array.from([1, 1]))).toEqual({ negative: 1, positive: 1 });
  });
});

describe('trainModel on the WASM backend', () => {
  it('learns the toy lesions with mixup too (blended targets, accuracy against the larger share)', async () => {
    const before = tf.memory().numTensors;
    const result = await trainModel({ train, validation }, params({ mixup: 0.4 }));
    const plain = await trainModel({ train, validation }, params({ epochs: 1 }));
    try {
      // The blends reach the optimiser: the first epoch differs from the same seed's plain one.
      expect(result.history[0]!.loss).not.toBe(plain.history[0]!.loss);
      const scores = predictScores(result.model, test);
      const correct = scores.reduce((n, s, i) => n + ((s >= 0.5 ? 1 : 0) === test.labels[i] ? 1 : 0), 0);
      expect(correct / test.count).toBeGreaterThan(0.8);
      expect(result.history.every((h) => h.accuracy >= 0 && h.accuracy <= 1)).toBe(true);
    } finally {
      result.model.dispose();
      plain.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('learns the toy lesions, reports every batch and epoch, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const batches: BatchProgress[] = [];
    const p = params();
    const result = await trainModel({ train, validation }, p, { onBatchEnd: (b) => batches.push(b) });

    expect(result.history).toHaveLength(p.epochs);
    expect(batches).toHaveLength(p.epochs * Math.ceil(train.count / p.batchSize));
    expect(batches.every((b) => Number.isFinite(b.loss) && b.imagesPerSecond > 0)).toBe(true);
    expect(result.history.at(-1)!.loss).toBeLessThan(result.history[0].loss);

    const scores = predictScores(result.model, test);
    const correct = scores.reduce((n, s, i) => n + ((s >= 0.5 ? 1 : 0) === test.labels[i] ? 1 : 0), 0);
    expect(correct / test.count).toBeGreaterThanOrEqual(0.9);

    result.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is reproducible for a seed', async () => {
    const run = async () => {
      const r = await trainModel({ train, validation }, params({ epochs: 2 }));
      r.model.dispose();
      return r.history.map((h) => h.loss);
    };
    expect(await run()).toEqual(await run());
  });

  it('stops early when validation AUC stops improving', async () => {
    // With a zero learning rate the weights never change, so AUC never improves after epoch 1
    // (on a network without batch normalisation, whose moving statistics would still move).
    const r = await trainModel({ train, validation }, params({ architecture: 'original-cnn', epochs: 6, learningRate: 0, earlyStoppingPatience: 2 }));
    r.model.dispose();
    expect(r.history).toHaveLength(3);
    expect(r.stoppedEarly).toBe(true);
    expect(r.bestEpoch).toBe(1);
  });

  it('keeps the mean of the last epochs when it validates at least as well as the best epoch', async () => {
    const before = tf.memory().numTensors;
    const r = await trainModel({ train, validation }, params({ epochs: 4, averageEpochs: 3 }));
    const bestSingle = Math.max(...r.history.map((h) => h.validationAuc));
    expect(r.averaged).toMatchObject({ fromEpoch: 2, toEpoch: 4 });
    expect(r.averaged!.validationAuc).toBeGreaterThanOrEqual(bestSingle);
    // The model really holds the averaged weights: its own validation AUC is the one reported.
    const { rocAuc } = await import('../../server/ml/metrics.js');
    expect(rocAuc(validation.labels, predictScores(r.model, validation))).toBeCloseTo(r.averaged!.validationAuc, 10);
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);

    const plain = await trainModel({ train, validation }, params({ epochs: 4, averageEpochs: 0 }));
    plain.model.dispose();
    expect(plain.averaged).toBeUndefined();
  });

  it('cancels between batches and frees everything', async () => {
    const before = tf.memory().numTensors;
    const abort = new AbortController();
    let seen = 0;
    const run = trainModel({ train, validation }, params({ epochs: 5 }), {
      onBatchEnd: () => {
        if (++seen === 2) abort.abort();
      },
    }, abort.signal);
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(seen).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an unknown architecture with a typed error', async () => {
    await expect(trainModel({ train, validation }, params({ architecture: 'no-such-net' }))).rejects.toMatchObject({
      code: 'UNKNOWN_ARCHITECTURE',
    });
  });
});
