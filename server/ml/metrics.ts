// Quality measures of a binary classifier from its scores. Pure functions over plain arrays:
// label 1 = positive (cancerous), score = predicted probability of the positive class.
//
// Conventions used throughout:
// - Malformed input (different lengths, labels other than 0/1, NaN scores, bad options) throws a
//   `MetricsError`.
// - A quantity that is undefined for the data given (AUC or sensitivity without positives,
//   ECE of an empty set, ...) is NaN, so callers can evaluate whatever data they have.
import { createRng } from './random.js';
import type { CalibrationBin, ConfusionMatrix, EvaluationMetrics, RocPoint } from './types.js';

export type MetricsErrorCode = 'LENGTH_MISMATCH' | 'INVALID_LABEL' | 'INVALID_SCORE' | 'INVALID_ARGUMENT' | 'SINGLE_CLASS';

export class MetricsError extends Error {
  constructor(
    readonly code: MetricsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MetricsError';
  }
}

type Labels = ArrayLike<number>;
type Scores = ArrayLike<number>;

function checkInputs(labels: Labels, scores: Scores): void {
  if (labels.length !== scores.length) {
    throw new MetricsError('LENGTH_MISMATCH', `${labels.length} labels but ${scores.length} scores`);
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new MetricsError('INVALID_LABEL', `label ${i} is ${labels[i]}, expected 0 or 1`);
    if (Number.isNaN(scores[i])) throw new MetricsError('INVALID_SCORE', `score ${i} is NaN`);
  }
}

function countPositives(labels: Labels): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  return positives;
}

/** Indices of `scores`, highest score first. */
function indicesByScoreDescending(scores: Scores): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  // Comparisons rather than subtraction, so that infinite scores sort too.
  return order.sort((a, b) => (scores[a] > scores[b] ? -1 : scores[a] < scores[b] ? 1 : 0));
}

/**
 * Area under the ROC curve, exactly: the probability that a random positive scores above a random
 * negative, ties counting one half (the Mann–Whitney U statistic). NaN when a class is absent.
 */
export function rocAuc(labels: Labels, scores: Scores): number {
  checkInputs(labels, scores);
  const n = labels.length;
  const positives = countPositives(labels);
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;

  // Rank ascending; tied scores share the mean of the ranks they span.
  const order = indicesByScoreDescending(scores).reverse();
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]] === scores[order[start]]) end++;
    const meanRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) if (labels[order[k]] === 1) positiveRankSum += meanRank;
    start = end + 1;
  }
  const u = positiveRankSum - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}

/**
 * The ROC curve from (0,0) to (1,1), one point per distinct score, thinned to at most `maxPoints`
 * (end points kept). A point's `threshold` is the cut it represents (positive when score >= threshold);
 * the first point's threshold is `max score + 1`, a finite value above every score so it survives JSON.
 * Empty when a class is absent (the curve is undefined).
 */
export function rocCurve(labels: Labels, scores: Scores, maxPoints = 101): RocPoint[] {
  checkInputs(labels, scores);
  if (!(maxPoints >= 2)) throw new MetricsError('INVALID_ARGUMENT', `maxPoints must be at least 2, got ${maxPoints}`);
  const n = labels.length;
  const positives = countPositives(labels);
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return [];

  const order = indicesByScoreDescending(scores);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: scores[order[0]] + 1 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    if (labels[order[k]] === 1) tp++;
    else fp++;
    // Only the last of a run of tied scores is a reachable cut.
    const lastOfTies = k + 1 === n || scores[order[k + 1]] !== scores[order[k]];
    if (lastOfTies) points.push({ fpr: fp / negatives, tpr: tp / positives, threshold: scores[order[k]] });
  }
  return thin(points, Math.floor(maxPoints));
}

/** Evenly spaced (by index) subset of `points`, keeping the first and the last. */
function thin<T>(points: T[], maxPoints: number): T[] {
  if (points.length <= maxPoints) return points;
  const last = points.length - 1;
  return Array.from({ length: maxPoints }, (_, k) => points[Math.round((k * last) / (maxPoints - 1))]);
}

/** Counts at one decision threshold: an image is predicted positive when its score >= threshold. */
export function confusionAt(labels: Labels, scores: Scores, threshold: number): ConfusionMatrix {
  checkInputs(labels, scores);
  const matrix: ConfusionMatrix = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    const predictedPositive = scores[i] >= threshold;
    if (labels[i] === 1) {
      if (predictedPositive) matrix.tp++;
      else matrix.fn++;
    } else if (predictedPositive) matrix.fp++;
    else matrix.tn++;
  }
  return matrix;
}

export interface ThresholdOptions {
  /** Minimum fraction of positives that must score at or above the threshold, in [0, 1]. */
  targetSensitivity?: number;
}

/**
 * The highest threshold whose sensitivity is at least `targetSensitivity`: specificity can only
 * fall as the threshold drops, so this is the most specific cut meeting the sensitivity floor.
 *
 * It is always one of the positives' scores: the k-th highest, with k = ceil(target * positives)
 * (at least 1, so a target of 0 gives the highest positive score). Every image scoring exactly the
 * threshold counts as positive, so with ties the achieved sensitivity may exceed the target.
 * Throws `SINGLE_CLASS` when there are no positives (no threshold can be judged).
 */
export function chooseThreshold(labels: Labels, scores: Scores, options: ThresholdOptions = {}): number {
  checkInputs(labels, scores);
  const target = options.targetSensitivity ?? 0.9;
  if (!(target >= 0 && target <= 1)) throw new MetricsError('INVALID_ARGUMENT', `targetSensitivity must be in [0, 1], got ${target}`);
  const positiveScores: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positiveScores.push(scores[i]);
  if (positiveScores.length === 0) throw new MetricsError('SINGLE_CLASS', 'no positive examples to choose a threshold from');
  positiveScores.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  // The epsilon keeps e.g. 0.7 * 10 = 7.000000000000001 from demanding 8 positives.
  const needed = Math.min(positiveScores.length, Math.max(1, Math.ceil(target * positiveScores.length - 1e-9)));
  return positiveScores[needed - 1];
}

/**
 * Reliability-diagram bins of equal width over [0, 1]: bin i covers [i/bins, (i+1)/bins), the last
 * one includes 1; scores outside [0, 1] fall into the edge bins. Empty bins are left out.
 */
export function calibrationBins(labels: Labels, scores: Scores, bins = 10): CalibrationBin[] {
  checkInputs(labels, scores);
  if (!Number.isInteger(bins) || bins < 1) throw new MetricsError('INVALID_ARGUMENT', `bins must be a positive integer, got ${bins}`);
  const count = new Array<number>(bins).fill(0);
  const scoreSum = new Array<number>(bins).fill(0);
  const positiveCount = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(scores[i] * bins)));
    count[bin]++;
    scoreSum[bin] += scores[i];
    positiveCount[bin] += labels[i];
  }
  const result: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    result.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count: count[b],
      meanPredicted: scoreSum[b] / count[b],
      fractionPositive: positiveCount[b] / count[b],
    });
  }
  return result;
}

/** Expected calibration error: sum over bins of count/n * |meanPredicted - fractionPositive|. NaN when empty. */
export function expectedCalibrationError(labels: Labels, scores: Scores, bins = 10): number {
  return eceFromBins(calibrationBins(labels, scores, bins), labels.length);
}

function eceFromBins(bins: CalibrationBin[], n: number): number {
  if (n === 0) return Number.NaN;
  return bins.reduce((sum, bin) => sum + (bin.count / n) * Math.abs(bin.meanPredicted - bin.fractionPositive), 0);
}

/** Everything reported about a model on one labelled set at one threshold. */
export function evaluateScores(labels: Labels, scores: Scores, threshold: number): EvaluationMetrics {
  const confusionMatrix = confusionAt(labels, scores, threshold);
  const { tp, fp, tn, fn } = confusionMatrix;
  const n = labels.length;
  const sensitivity = tp / (tp + fn);
  const specificity = tn / (tn + fp);
  const calibration = calibrationBins(labels, scores);
  return {
    n,
    positives: tp + fn,
    auc: rocAuc(labels, scores),
    accuracy: (tp + tn) / n,
    balancedAccuracy: (sensitivity + specificity) / 2,
    sensitivity,
    specificity,
    threshold,
    ece: eceFromBins(calibration, n),
    confusionMatrix,
    roc: rocCurve(labels, scores),
    calibration,
  };
}

export interface BootstrapOptions {
  iterations?: number;
  /** Coverage of the interval, in (0, 1). */
  confidence?: number;
  seed?: number;
}

export interface BootstrapInterval {
  /** The metric on the data as given. */
  estimate: number;
  lower: number;
  upper: number;
  confidence: number;
  /** Resamples whose metric was finite (the ones the percentiles come from). */
  iterations: number;
}

/** Linear-interpolation quantile of an ascending array. */
function quantileOfSorted(sorted: number[], q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/**
 * Percentile bootstrap confidence interval of `metric`. Resampling is stratified (positives and
 * negatives are each drawn with replacement, keeping their counts) so every resample has both
 * classes and metrics such as AUC stay defined. Deterministic for a given seed.
 */
export function bootstrapInterval(
  labels: Labels,
  scores: Scores,
  metric: (labels: number[], scores: number[]) => number,
  options: BootstrapOptions = {},
): BootstrapInterval {
  checkInputs(labels, scores);
  const iterations = options.iterations ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(iterations) || iterations < 1) throw new MetricsError('INVALID_ARGUMENT', `iterations must be a positive integer, got ${iterations}`);
  if (!(confidence > 0 && confidence < 1)) throw new MetricsError('INVALID_ARGUMENT', `confidence must be in (0, 1), got ${confidence}`);

  const byClass: [number[], number[]] = [[], []];
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const rng = createRng(options.seed ?? 0x5eed);
  const sampleLabels = new Array<number>(labels.length);
  const sampleScores = new Array<number>(labels.length);
  const values: number[] = [];
  for (let it = 0; it < iterations; it++) {
    let k = 0;
    for (const members of byClass) {
      for (let j = 0; j < members.length; j++) {
        const index = members[rng.int(members.length)];
        sampleLabels[k] = labels[index];
        sampleScores[k] = scores[index];
        k++;
      }
    }
    const value = metric(sampleLabels, sampleScores);
    if (Number.isFinite(value)) values.push(value);
  }
  const estimate = metric(Array.from(labels), Array.from(scores));
  if (values.length === 0) return { estimate, lower: Number.NaN, upper: Number.NaN, confidence, iterations: 0 };
  values.sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  return {
    estimate,
    lower: quantileOfSorted(values, tail),
    upper: quantileOfSorted(values, 1 - tail),
    confidence,
    iterations: values.length,
  };
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Mean binary cross-entropy of sigmoid(logit / temperature) against the labels. */
export function temperatureNll(labels: Labels, logits: ArrayLike<number>, temperature: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const z = logits[i] / temperature;
    // -[y log σ(z) + (1-y) log(1-σ(z))] = softplus(z) - y z
    sum += softplus(z) - labels[i] * z;
  }
  return sum / labels.length;
}

export interface TemperatureSearchOptions {
  /** Search interval for T; the optimum is clamped to it (e.g. T -> 0 for perfectly separated data). */
  minTemperature?: number;
  maxTemperature?: number;
}

/**
 * Temperature scaling: the T > 0 minimising the binary NLL of sigmoid(logit / T). The NLL is convex
 * in 1/T, hence unimodal in log T, so a golden-section search on log T finds the optimum without
 * gradients or a starting guess.
 */
export function fitTemperature(labels: Labels, logits: ArrayLike<number>, options: TemperatureSearchOptions = {}): number {
  checkInputs(labels, logits);
  if (labels.length === 0) throw new MetricsError('INVALID_ARGUMENT', 'cannot fit a temperature to no examples');
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) throw new MetricsError('INVALID_SCORE', `logit ${i} is ${logits[i]}`);
  }
  const minT = options.minTemperature ?? 0.01;
  const maxT = options.maxTemperature ?? 100;
  if (!(minT > 0 && maxT > minT)) throw new MetricsError('INVALID_ARGUMENT', `need 0 < minTemperature < maxTemperature, got ${minT}, ${maxT}`);

  const logT = minimizeUnimodal((x) => temperatureNll(labels, logits, Math.exp(x)), Math.log(minT), Math.log(maxT), 1e-7);
  return Math.exp(logT);
}

/** Where a unimodal function is lowest in [lo, hi], to within `tolerance`, by golden-section search. */
export function minimizeUnimodal(f: (x: number) => number, lo: number, hi: number, tolerance: number): number {
  const invPhi = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - invPhi * (b - a);
  let d = a + invPhi * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > tolerance) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - invPhi * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + invPhi * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}

/** Calibrated probabilities sigmoid(logit / temperature). */
export function applyTemperature(logits: ArrayLike<number>, temperature: number): number[] {
  if (!(temperature > 0)) throw new MetricsError('INVALID_ARGUMENT', `temperature must be positive, got ${temperature}`);
  return Array.from(logits, (z) => 1 / (1 + Math.exp(-z / temperature)));
}
