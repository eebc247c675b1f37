// Batched inference over a decoded image set: the single place that turns pixels into scores.
import { tf } from './tf.js';
import type { LabelledImages } from './dataset.js';
import { makeBatch } from './dataset.js';

/** Probability of the positive class for every image, in order. */
export function predictScores(model: tf.LayersModel, images: LabelledImages, batchSize = 64): Float32Array {
  const scores = new Float32Array(images.count);
  for (let start = 0; start < images.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, images.count - start) }, (_, i) => start + i);
    const { x, y } = makeBatch(images, indices, { augment: false });
    const p = tf.tidy(() => model.predict(x) as tf.Tensor);
    scores.set(p.dataSync(), start);
    tf.dispose([x, y, p]);
  }
  return scores;
}
