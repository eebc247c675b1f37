import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { buildModel } from '../../server/ml/models/index.js';
import { predictViews, testTimeViews } from '../../server/ml/tta.js';
import { scoreViewsBatched } from '../../server/ml/view-batch.js';

beforeAll(() => initBackend());

describe('scoreViewsBatched', () => {
  it.each([64, 8, 5])('matches one pass per view, %i images per pass, without leaving tensors', (maxImagesPerPass) => {
    const model = buildModel('original-cnn', { imageSize: 32, seed: 4 });
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    try {
      const before = tf.memory().numTensors;
      const batched = scoreViewsBatched(model, x, testTimeViews, 1.7, maxImagesPerPass);
      expect(tf.memory().numTensors).toBe(before);
      const separate = predictViews(model, x, { views: testTimeViews, temperature: 1.7 }).views;
      expect(batched).toHaveLength(8);
      batched.forEach((view, v) => view.forEach((p, i) => expect(p).toBeCloseTo(separate[v]![i]!, 5)));
      // The views really differ: a random network is not symmetric.
      expect(new Set(batched.map((view) => view[0]!.toFixed(6))).size).toBeGreaterThan(1);
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});
