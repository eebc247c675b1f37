import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { architectureNames, buildModel, getArchitecture } from '../../server/ml/models/index.js';
import { batchArrays, loadImageFolder, type LabelledImages } from '../../server/ml/dataset.js';
import { SingleThreadEngine } from '../../server/ml/training-engine.js';
import { DataParallelEngine, supportsDataParallel } from '../../server/ml/parallel/data-parallel-engine.js';
import { decayedWeights } from '../../server/ml/weight-decay.js';
import { createRng } from '../../server/ml/random.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';

const SIZE = 32;
const residualNets = architectureNames().filter((name) => name.startsWith('resnet-'));
let toy: ToyDataset;
let images: LabelledImages;

beforeAll(async () => {
  await initBackend({ preferred: 'wasm', threads: 2 });
  toy = await createToyDataset({ splits: { train: 32 }, size: 48, seed: 9 });
  images = await loadImageFolder(toy.splitDir('train'), { imageSize: SIZE });
});

afterAll(() => toy?.cleanup());

describe('architecture registry', () => {
  it('keeps the original CNN and registers the residual networks by name', () => {
    expect(architectureNames()).toContain('original-cnn');
    expect(residualNets).toEqual(expect.arrayContaining(['resnet-small', 'resnet-wide', 'resnet-deep']));
  });
});

describe('the original CNN family', () => {
  it('keeps the original exactly as the shipped weights need it, and adds a fourth stage beside it', () => {
    const original = buildModel('original-cnn', { imageSize: 96, seed: 42 });
    const four = buildModel('original-cnn-4', { imageSize: 96, seed: 42 });
    try {
      expect(original.layers.map((l) => l.name)).toEqual(['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'pool3', 'flatten', 'dense1', 'output']);
      expect(original.countParams()).toBe(2_452_801);
      // The fourth stage halves the map the dense head reads (12x12x128 -> 6x6x256).
      expect(four.getLayer('flatten').outputShape).toEqual([null, 6 * 6 * 256]);
      expect(four.countParams()).toBe(1_568_321);
      const x = tf.randomUniform([2, 96, 96, 3], 0, 1, 'float32', 5);
      const p = four.predict(x) as tf.Tensor;
      expect(p.shape).toEqual([2, 1]);
      tf.dispose([x, p]);
    } finally {
      original.dispose();
      four.dispose();
    }
  });
});

describe.each(residualNets)('%s', (name) => {
  it('maps [n, size, size, 3] to one probability per image, at its smallest size and at 96 px', () => {
    for (const imageSize of [getArchitecture(name).minImageSize, 96]) {
      const model = buildModel(name, { imageSize, seed: 1 });
      const x = tf.randomUniform([3, imageSize, imageSize, 3], 0, 1, 'float32', 5);
      const p = model.predict(x) as tf.Tensor;
      expect(p.shape).toEqual([3, 1]);
      for (const v of p.dataSync()) expect(v > 0 && v < 1).toBe(true);
      tf.dispose([x, p]);
      model.dispose();
    }
    expect(() => buildModel(name, { imageSize: getArchitecture(name).minImageSize - 1, seed: 1 })).toThrow(RangeError);
  });

  it('is the same network for the same seed, a different one for another seed', () => {
    const weights = (seed: number) => {
      const model = buildModel(name, { imageSize: SIZE, seed });
      const values = model.getWeights()[0]!.dataSync().slice();
      model.dispose();
      return values;
    };
    expect(weights(3)).toEqual(weights(3));
    expect(weights(3)).not.toEqual(weights(4));
  });

  it('normalises in batches and decays only kernels', () => {
    const model = buildModel(name, { imageSize: SIZE, seed: 1 });
    expect(model.nonTrainableWeights.length).toBeGreaterThan(0);
    expect(supportsDataParallel(model)).toBe(true);
    const decayed = model.trainableWeights.filter((_, i) => decayedWeights(model)[i]).map((w) => w.originalName);
    expect(decayed.length).toBeGreaterThan(0);
    expect(decayed.every((n) => n.endsWith('kernel'))).toBe(true);
    expect(decayedWeights(model).filter((d) => !d).length).toBeGreaterThan(0); // gammas, betas, the output bias
    model.dispose();
  });

  it('learns a toy batch on one thread: the loss falls and no tensor is left behind', async () => {
    const model = buildModel(name, { imageSize: SIZE, seed: 2 });
    const engine = new SingleThreadEngine(model, { learningRate: 0.003, classWeights: { negative: 1, positive: 1 }, weightDecay: 0.01 });
    const batch = batchArrays(images, Array.from({ length: 8 }, (_, i) => i * 4), { augment: false });
    const losses: number[] = [];
    await engine.step(batch); // the first step creates Adam's moment variables
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) losses.push((await engine.step(batch)).loss);
    expect(tf.memory().numTensors).toBe(before);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7);
    await engine.dispose();
    model.dispose();
  });
});

describe('data-parallel training with batch normalisation', () => {
  it('trains on 2 replicas, averages their moving statistics into the model and keeps memory flat', async () => {
    const name = 'resnet-small';
    const model = buildModel(name, { imageSize: SIZE, seed: 4 });
    const initialStatistics = model.nonTrainableWeights.map((w) => w.read().dataSync().slice());
    const engine = await DataParallelEngine.start(model, {
      architecture: name,
      imageSize: SIZE,
      seed: 4,
      learningRate: 0.003,
      classWeights: { negative: 1, positive: 1 },
      weightDecay: 0.01,
      labelSmoothing: 0.1,
      maxBatch: 16,
      threads: 2,
    });
    try {
      const rng = createRng(1);
      const step = () => engine.step(batchArrays(images, Array.from({ length: 16 }, (_, i) => i * 2), { augment: true, rng }));
      const first = await step();
      await step();
      const memory = await engine.replicaMemory();
      const losses = [first.loss];
      for (let i = 0; i < 6; i++) losses.push((await step()).loss);
      expect(await engine.replicaMemory()).toEqual(memory);
      expect(Math.min(...losses.slice(-3))).toBeLessThan(losses[0]!);

      const before = tf.memory().numTensors;
      await engine.syncModel();
      expect(tf.memory().numTensors).toBe(before);
      const statistics = model.nonTrainableWeights.map((w) => w.read().dataSync());
      // The moving means moved away from their initial zeros, to finite values.
      expect(statistics.some((s, i) => s.some((v, j) => v !== initialStatistics[i]![j]))).toBe(true);
      expect(statistics.every((s) => s.every(Number.isFinite))).toBe(true);
      // The synced model predicts in inference mode with those statistics.
      const x = tf.tensor4d(batchArrays(images, [0, 1, 2, 3], { augment: false }).x, [4, SIZE, SIZE, 3]);
      const p = model.predict(x) as tf.Tensor;
      expect(Array.from(p.dataSync()).every((v) => v > 0 && v < 1)).toBe(true);
      tf.dispose([x, p]);
    } finally {
      await engine.dispose();
      model.dispose();
    }
  });
});
