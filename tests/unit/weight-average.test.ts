import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { WeightAverage } from '../../server/ml/weight-average.js';

beforeAll(async () => {
  await initBackend();
});

describe('WeightAverage', () => {
  it('averages every weight tensor over the epochs added, and frees what it holds', () => {
    const before = tf.memory().numTensors;
    const average = new WeightAverage();
    const epochs = [
      [tf.tensor2d([[1, 2], [3, 4]]), tf.tensor1d([10])],
      [tf.tensor2d([[3, 2], [1, 0]]), tf.tensor1d([20])],
      [tf.tensor2d([[5, 5], [5, 5]]), tf.tensor1d([-3])],
    ];
    epochs.forEach((weights, i) => average.add(weights, 8 + i));
    // add copies: the caller may free (or training may overwrite) its tensors right away.
    epochs.flat().forEach((t) => t.dispose());

    expect([average.epochs, average.fromEpoch, average.toEpoch]).toEqual([3, 8, 10]);
    const mean = average.mean();
    expect(mean[0].arraySync()).toEqual([[3, 3], [3, 3]]);
    expect((mean[1] as tf.Tensor1D).arraySync()[0]).toBeCloseTo(9, 6);
    mean.forEach((t) => t.dispose());
    average.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a mean of nothing', () => {
    expect(() => new WeightAverage().mean()).toThrow(/no weights/);
  });
});
