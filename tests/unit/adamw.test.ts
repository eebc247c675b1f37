// AdamW and label smoothing give the same step on one thread and on data-parallel replicas.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { buildModel } from '../../server/ml/models/index.js';
import { SingleThreadEngine } from '../../server/ml/training-engine.js';
import { DataParallelEngine } from '../../server/ml/parallel/data-parallel-engine.js';
import { FlatAdam } from '../../server/ml/parallel/flat-adam.js';
import type { BatchArrays } from '../../server/ml/dataset.js';
import { createRng } from '../../server/ml/random.js';

const SIZE = 24;

function randomBatch(seed: number, count: number): BatchArrays {
  const rng = createRng(seed);
  const x = Float32Array.from({ length: count * SIZE * SIZE * 3 }, () => rng.next());
  const y = Float32Array.from({ length: count }, (_, i) => i % 2);
  return { size: SIZE, count, x, y };
}

beforeAll(async () => {
  await initBackend({ preferred: 'wasm', threads: 2 });
});

describe('FlatAdam weight decay', () => {
  it('shrinks masked weights by lr * decay before the Adam step and leaves the others alone', () => {
    const weights = Float32Array.from([1, 2, 3, 4]);
    const summed = new Float32Array(4);
    const zeroGradient = new Float32Array(4);
    const adam = new FlatAdam(0, 4, { learningRate: 0.1, epsilon: 1e-7, weightDecay: 0.5, decayMask: Uint8Array.from([1, 0, 1, 0]) });
    adam.step(weights, [zeroGradient], summed, 0.2);
    // Zero gradient: Adam moves nothing; decay multiplies masked weights by 1 - 0.2 * 0.5.
    expect(Array.from(weights)).toEqual([0.9, 2, Math.fround(3 * 0.9), 4].map(Math.fround));
  });
});

describe('AdamW with label smoothing on one thread and on replicas', () => {
  it('takes the same steps, at the learning rate of each step', async () => {
    const settings = { learningRate: 0.002, classWeights: { negative: 0.8, positive: 1.3 }, weightDecay: 0.05, labelSmoothing: 0.1 };
    const reference = buildModel('original-cnn', { imageSize: SIZE, seed: 6 });
    const model = buildModel('original-cnn', { imageSize: SIZE, seed: 6 });
    const single = new SingleThreadEngine(reference, settings);
    const engine = await DataParallelEngine.start(model, { ...settings, architecture: 'original-cnn', imageSize: SIZE, seed: 6, maxBatch: 12, threads: 2 });
    try {
      for (const [i, rate] of [0.002, 0.001, 0.0005].entries()) {
        const batch = randomBatch(i, 12);
        const a = await single.step(batch, rate);
        const b = await engine.step(batch, rate);
        expect(b.loss).toBeCloseTo(a.loss, 4);
      }
      await engine.syncModel();
      const expected = reference.getWeights();
      const actual = model.getWeights();
      expected.forEach((w, i) => {
        const diff = tf.tidy(() => w.sub(actual[i]!).abs().max().dataSync()[0]!);
        expect(diff).toBeLessThan(1e-4);
      });
      // Decay did something: the same run without it ends elsewhere.
      const plain = buildModel('original-cnn', { imageSize: SIZE, seed: 6 });
      const plainEngine = new SingleThreadEngine(plain, { ...settings, weightDecay: 0 });
      for (const [i, rate] of [0.002, 0.001, 0.0005].entries()) await plainEngine.step(randomBatch(i, 12), rate);
      const kernelDiff = tf.tidy(() => plain.getWeights()[0]!.sub(expected[0]!).abs().max().dataSync()[0]!);
      expect(kernelDiff).toBeGreaterThan(1e-7);
      await plainEngine.dispose();
      plain.dispose();
    } finally {
      await single.dispose();
      await engine.dispose();
      reference.dispose();
      model.dispose();
    }
  });
});
