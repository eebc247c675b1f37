// The training objective, shared by every training engine so that they optimise the same thing.
import { tf } from './tf.js';

export interface ClassWeights {
  negative: number;
  positive: number;
}

/** Probabilities are clipped this far from 0 and 1 before taking logs. */
export const PROBABILITY_EPSILON = 1e-7;

/** Weights that make each class contribute equally to the loss, whatever its frequency. */
export function balancedClassWeights(labels: Uint8Array): ClassWeights {
  const positives = labels.reduce((sum, l) => sum + l, 0);
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return { negative: 1, positive: 1 };
  return { negative: labels.length / (2 * negatives), positive: labels.length / (2 * positives) };
}

/**
 * Class-weighted binary cross-entropy of `rows` predictions, divided by `batchSize`: with
 * `rows = batchSize` it is the batch mean; the values of the shards of a batch add up to it,
 * so gradients of shards add up to the batch gradient.
 *
 * `labelSmoothing` (0 = off) moves the targets that far towards 1/2 (0 -> e/2, 1 -> 1 - e/2), so
 * the network is not pushed towards saturated outputs on a small, noisy set; the class weights
 * still follow the true labels.
 */
export function batchLoss(y: tf.Tensor, p: tf.Tensor, weights: ClassWeights, batchSize: number, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const clipped = p.clipByValue(PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON);
    const target = labelSmoothing > 0 ? y.mul(1 - labelSmoothing).add(labelSmoothing / 2) : y;
    const perSample = target.mul(clipped.log()).add(tf.scalar(1).sub(target).mul(tf.scalar(1).sub(clipped).log())).neg();
    const sampleWeights = y.mul(weights.positive - weights.negative).add(weights.negative);
    return perSample.mul(sampleWeights).sum().div(batchSize) as tf.Scalar;
  });
}

/** How many predictions land on the same side of 0.5 as their target (a blended target counts by its larger share). */
export function correctCount(y: tf.Tensor, p: tf.Tensor): tf.Scalar {
  return tf.tidy(() => p.greaterEqual(0.5).equal(y.greaterEqual(0.5)).toFloat().sum() as tf.Scalar);
}
