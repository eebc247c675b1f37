import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { buildModel } from '../../server/ml/models/index.js';
import { predictViews, testTimeViews } from '../../server/ml/tta.js';
import { scoreViewsBatched } from '../../server/ml/view-batch.js';
import { embed } from '../../server/ml/model-anatomy.js';

beforeAll(() => initBackend());

describe('scoreViewsBatched', () => {
  it.each([64, 8, 5])('matches one pass per view, %i images per pass, without leaving tensors', (maxImagesPerPass) => {
    const model = buildModel('original-cnn', { imageSize: 32, seed: 4 });
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    try {
      const before = tf.memory().numTensors;
      const { scores: batched, embeddings } = scoreViewsBatched(model, x, testTimeViews, 1.7, { maxImagesPerPass });
      expect(embeddings).toBeUndefined();
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

  it.each([64, 8, 5])('returns the embeddings of the images as they are from the same passes, %i images per pass', (maxImagesPerPass) => {
    const model = buildModel('original-cnn', { imageSize: 32, seed: 4 });
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    try {
      const before = tf.memory().numTensors;
      const fused = scoreViewsBatched(model, x, testTimeViews, 1.3, { maxImagesPerPass, embed: true });
      expect(tf.memory().numTensors).toBe(before);
      const alone = embed(model, x);
      expect(fused.embeddings!.dim).toBe(alone.dim);
      expect(fused.embeddings!.values).toHaveLength(3 * alone.dim);
      fused.embeddings!.values.forEach((value, i) => expect(value).toBeCloseTo(alone.values[i]!, 4));
      // The scores are the same as without embeddings.
      const plain = scoreViewsBatched(model, x, testTimeViews, 1.3, { maxImagesPerPass }).scores;
      fused.scores.forEach((view, v) => view.forEach((p, i) => expect(p).toBeCloseTo(plain[v]![i]!, 6)));
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('refuses embeddings without the identity view', () => {
    const model = buildModel('original-cnn', { imageSize: 32, seed: 4 });
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    try {
      expect(() => scoreViewsBatched(model, x, ['flip-left-right'], 1, { embed: true })).toThrow(/identity/);
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});
