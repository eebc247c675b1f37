// How much a prediction depends on the image's orientation, from test-time augmentation: the
// model scores the eight flips and quarter turns of the image, and the spread of those scores is
// reported as an interval. A wide interval, or one that straddles the decision threshold, turns
// the risk band into "uncertain - refer".
import { quantile } from './guard/order-statistics.js';
import { riskBand, type RiskBand } from './risk.js';

/** The share of view scores the interval covers: from the 5th to the 95th percentile. */
export const INTERVAL_LEVEL = 0.9;

export interface Uncertainty {
  lower: number;
  upper: number;
  level: number;
  /** The calibrated probability under each view, in tta.ts's `testTimeViews` order. */
  views: number[];
}

export function viewInterval(views: ArrayLike<number>, level = INTERVAL_LEVEL): Uncertainty {
  if (views.length === 0) throw new RangeError('an interval needs at least one view');
  const sorted = Float64Array.from(views).sort();
  const tail = (1 - level) / 2;
  return { lower: quantile(sorted, tail), upper: quantile(sorted, 1 - tail), level, views: Array.from(views) };
}

/** True when the interval is wider than `maxSpread` or has the threshold inside it. */
export function isUncertain(interval: Pick<Uncertainty, 'lower' | 'upper'>, threshold: number, maxSpread: number): boolean {
  return interval.upper - interval.lower > maxSpread || (interval.lower < threshold && interval.upper >= threshold);
}

/** The risk band of `riskBand`, or 'uncertain' when the views disagree too much to trust it. */
export function riskBandWithUncertainty(probability: number, threshold: number, interval: Pick<Uncertainty, 'lower' | 'upper'>, maxSpread: number): RiskBand {
  return isUncertain(interval, threshold, maxSpread) ? 'uncertain' : riskBand(probability, threshold);
}
