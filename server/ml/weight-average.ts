// Stochastic weight averaging: the mean of the weights of the last epochs of a decaying schedule
// often sits in a flatter, better-generalising spot than any single epoch's weights.
import { tf } from './tf.js';

/** A running sum of consecutive epochs' weights. Owns its tensors: call dispose(). */
export class WeightAverage {
  private sum: tf.Tensor[] | undefined;
  private count = 0;
  private first = 0;

  /** Adds the weights of `epoch` (the tensors are copied, not kept). */
  add(weights: tf.Tensor[], epoch: number): void {
    if (!this.sum) {
      this.sum = weights.map((w) => w.clone());
      this.first = epoch;
    } else {
      const previous = this.sum;
      this.sum = previous.map((s, i) => tf.add(s, weights[i]));
      previous.forEach((s) => s.dispose());
    }
    this.count++;
  }

  get epochs(): number {
    return this.count;
  }

  get fromEpoch(): number {
    return this.first;
  }

  get toEpoch(): number {
    return this.first + this.count - 1;
  }

  /** New tensors holding the mean; the caller owns them. */
  mean(): tf.Tensor[] {
    if (!this.sum) throw new Error('no weights were added');
    return this.sum.map((s) => tf.div(s, this.count));
  }

  dispose(): void {
    this.sum?.forEach((s) => s.dispose());
    this.sum = undefined;
    this.count = 0;
  }
}
