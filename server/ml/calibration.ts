// Temperature scaling: one number T, fitted on validation data, turns a network's raw
// probability p into sigmoid(logit(p) / T). It keeps every ranking (AUC, the ROC curve) and
// fixes over- or under-confidence, which class weighting and label smoothing both introduce.
import { PROBABILITY_EPSILON } from './loss.js';
import { minimizeUnimodal } from './metrics.js';

/** log(p / (1 - p)), with p kept away from 0 and 1 so saturated outputs stay finite. */
export function logit(p: number): number {
  const q = Math.min(Math.max(p, PROBABILITY_EPSILON), 1 - PROBABILITY_EPSILON);
  return Math.log(q / (1 - q));
}

/** sigmoid(logit(p) / temperature). */
export function calibrate(p: number, temperature: number): number {
  if (temperature === 1) return p;
  return 1 / (1 + Math.exp(-logit(p) / temperature));
}

/**
 * The per-image score of several views: the mean of their calibrated probabilities.
 * `views[v][i]` is the raw probability of image i under view v.
 */
export function combineViews(views: ArrayLike<number>[], temperature = 1): Float32Array {
  if (views.length === 0) throw new RangeError('combineViews needs at least one view');
  const n = views[0]!.length;
  const mean = new Float32Array(n);
  for (const view of views) {
    if (view.length !== n) throw new RangeError('every view must score the same images');
    for (let i = 0; i < n; i++) mean[i] += calibrate(view[i]!, temperature) / views.length;
  }
  return mean;
}

/** Mean negative log-likelihood of the labels under `combineViews(views, temperature)`. */
export function calibratedNll(labels: ArrayLike<number>, views: ArrayLike<number>[], temperature: number): number {
  const scores = combineViews(views, temperature);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(Math.max(scores[i]!, PROBABILITY_EPSILON), 1 - PROBABILITY_EPSILON);
    sum -= labels[i] ? Math.log(p) : Math.log(1 - p);
  }
  return sum / Math.max(1, scores.length);
}

export interface TemperatureFitOptions {
  minTemperature?: number;
  maxTemperature?: number;
}

/**
 * The temperature minimising validation NLL, by golden-section search on log T (the NLL is
 * smooth and, in practice, unimodal in log T). Needs both classes: with one class the NLL
 * falls without bound as T goes to an edge, and the edge would be "fitted".
 */
export function fitTemperature(labels: ArrayLike<number>, views: ArrayLike<number>[], options: TemperatureFitOptions = {}): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] ? 1 : 0;
  if (positives === 0 || positives === labels.length) throw new RangeError('fitting a temperature needs both classes');
  // Below 0.2 a temperature would multiply logits by more than 5: no trained network here is
  // that underconfident, and the fit only goes there on (nearly) separable validation sets.
  const minT = options.minTemperature ?? 0.2;
  const maxT = options.maxTemperature ?? 20;
  return Math.exp(minimizeUnimodal((logT) => calibratedNll(labels, views, Math.exp(logT)), Math.log(minT), Math.log(maxT), 1e-5));
}
