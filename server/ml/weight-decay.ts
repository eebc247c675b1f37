// Which weights decoupled weight decay (AdamW) shrinks: convolution and dense kernels only.
// Biases and batch-norm scales/offsets set levels, not feature detectors; shrinking them only
// fights the normalisation.
import type { tf } from './tf.js';

/** One flag per entry of `model.trainableWeights`: true for kernels. */
export function decayedWeights(model: tf.LayersModel): boolean[] {
  return model.trainableWeights.map((w) => /(^|\/)(depthwise_|pointwise_)?kernel(_\d+)?$/.test(w.originalName));
}
