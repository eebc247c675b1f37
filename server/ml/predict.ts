// Batched inference over a decoded image set: the single place that turns pixels into scores.
import type { LabelledImages } from './dataset.js';
import { makeBatch } from './dataset.js';
import { tf } from './tf.js';
import { predictViews, singleView, type TestTimeView } from './tta.js';
import { combineViews } from './calibration.js';

export interface Scoring {
  /** Test-time views averaged per image (default: the image as it is). */
  views?: readonly TestTimeView[];
  /** Temperature applied to every view's probability (default 1: raw). */
  temperature?: number;
}

/** Raw probability of the positive class for every image under each view: `[view][image]`. */
export function predictViewScores(model: tf.LayersModel, images: LabelledImages, batchSize = 64, views: readonly TestTimeView[] = singleView): Float32Array[] {
  const scores = views.map(() => new Float32Array(images.count));
  for (let start = 0; start < images.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, images.count - start) }, (_, i) => start + i);
    const { x, y } = makeBatch(images, indices, { augment: false });
    try {
      predictViews(model, x, { views }).views.forEach((view, v) => scores[v]!.set(view, start));
    } finally {
      tf.dispose([x, y]);
    }
  }
  return scores;
}

/** Probability of the positive class for every image, in order (calibrated and view-averaged when asked). */
export function predictScores(model: tf.LayersModel, images: LabelledImages, batchSize = 64, scoring: Scoring = {}): Float32Array {
  return combineViews(predictViewScores(model, images, batchSize, scoring.views ?? singleView), scoring.temperature ?? 1);
}
