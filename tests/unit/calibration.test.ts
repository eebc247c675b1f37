import { describe, expect, it } from 'vitest';
import { calibrate, calibratedNll, combineViews, fitTemperature, logit } from '../../server/ml/calibration.js';
import { expectedCalibrationError, rocAuc } from '../../server/ml/metrics.js';
import { createRng } from '../../server/ml/random.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Labels drawn from sigmoid(z) for true logits z, and a network's overconfident probabilities sigmoid(z * factor). */
function overconfident(n: number, factor: number, seed: number) {
  const rng = createRng(seed);
  const labels: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = rng.uniform(-4, 4);
    labels.push(rng.next() < sigmoid(z) ? 1 : 0);
    raw.push(sigmoid(z * factor));
  }
  return { labels, raw };
}

describe('calibrate and logit', () => {
  it('inverts the sigmoid, keeps saturated outputs finite and leaves T = 1 unchanged', () => {
    expect(logit(sigmoid(1.5))).toBeCloseTo(1.5, 6);
    expect(Number.isFinite(logit(1))).toBe(true);
    expect(Number.isFinite(logit(0))).toBe(true);
    expect(calibrate(0.83, 1)).toBe(0.83);
    expect(calibrate(sigmoid(3), 2)).toBeCloseTo(sigmoid(1.5), 6);
    // Above 1 pulls towards 1/2, below 1 pushes away, from either side.
    expect(calibrate(0.2, 3)).toBeGreaterThan(0.2);
    expect(calibrate(0.2, 0.5)).toBeLessThan(0.2);
  });
});

describe('fitTemperature', () => {
  it('recovers the overconfidence of a network and removes most of its calibration error, keeping its AUC', () => {
    const { labels, raw } = overconfident(4000, 3, 1);
    const t = fitTemperature(labels, [raw]);
    expect(t).toBeGreaterThan(2.6);
    expect(t).toBeLessThan(3.4);
    const calibrated = combineViews([raw], t);
    expect(expectedCalibrationError(labels, calibrated)).toBeLessThan(expectedCalibrationError(labels, raw) / 3);
    // Rankings are kept up to float32 rounding of probabilities near 0 and 1.
    expect(rocAuc(labels, calibrated)).toBeCloseTo(rocAuc(labels, raw), 5);
    expect(calibratedNll(labels, [raw], t)).toBeLessThan(calibratedNll(labels, [raw], 1));
  });

  it('finds T below 1 for an underconfident network', () => {
    const { labels, raw } = overconfident(4000, 0.4, 2);
    expect(fitTemperature(labels, [raw])).toBeLessThan(0.5);
  });

  it('fits the mean of several views', () => {
    const { labels, raw } = overconfident(3000, 2.5, 3);
    const jitter = createRng(4);
    const views = [raw, raw.map((p) => calibrate(p, jitter.uniform(0.9, 1.1)))];
    const t = fitTemperature(labels, views);
    expect(calibratedNll(labels, views, t)).toBeLessThanOrEqual(calibratedNll(labels, views, t * 1.05));
    expect(calibratedNll(labels, views, t)).toBeLessThanOrEqual(calibratedNll(labels, views, t / 1.05));
  });

  it('refuses a single class', () => {
    expect(() => fitTemperature([1, 1, 1], [[0.2, 0.5, 0.9]])).toThrow(/both classes/);
  });
});

describe('combineViews', () => {
  it('averages calibrated probabilities image by image', () => {
    expect(Array.from(combineViews([[0.2, 0.9], [0.4, 0.7]]))).toEqual([0.3, 0.8].map(Math.fround));
    const t = 2;
    expect(combineViews([[0.9], [0.6]], t)[0]).toBeCloseTo((calibrate(0.9, t) + calibrate(0.6, t)) / 2, 6);
    expect(() => combineViews([[0.1], [0.1, 0.2]])).toThrow(RangeError);
    expect(() => combineViews([])).toThrow(RangeError);
  });
});

describe('fitTemperature on separable data', () => {
  it('stops at the lower bound instead of sharpening without limit', () => {
    const labels = [0, 0, 0, 1, 1, 1];
    const raw = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9];
    expect(fitTemperature(labels, [raw])).toBeCloseTo(0.2, 3);
  });
});
