import { describe, expect, it } from 'vitest';
import {
  MetricsError,
  applyTemperature,
  bootstrapInterval,
  calibrationBins,
  chooseThreshold,
  confusionAt,
  evaluateScores,
  expectedCalibrationError,
  fitTemperature,
  rocAuc,
  rocCurve,
  temperatureNll,
} from '../../server/ml/metrics.js';

/** Test-local deterministic generator (LCG), independent of the one inside metrics.ts. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Two overlapping score distributions: positives centred higher. */
function syntheticScores(n: number, seed: number): { labels: number[]; scores: number[] } {
  const random = lcg(seed);
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 3 === 0 ? 1 : 0;
    labels.push(label);
    scores.push(1 / (1 + Math.exp(-(gaussian(random) + (label ? 1 : -0.5)))));
  }
  return { labels, scores };
}

function expectMetricsError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MetricsError);
    expect((error as MetricsError).code).toBe(code);
    return;
  }
  throw new Error(`expected a MetricsError ${code}`);
}

// Shared tiny example. Pairs (positive, negative): (.8,.8) tie = 1/2, (.8,.2) = 1, (.6,.8) = 0, (.6,.2) = 1.
const labels4 = [1, 0, 1, 0];
const scores4 = [0.8, 0.8, 0.6, 0.2];

describe('rocAuc', () => {
  it('counts ties as one half', () => {
    expect(rocAuc(labels4, scores4)).toBeCloseTo(2.5 / 4, 12);
  });

  it('is 1 for perfect separation, 0 for perfectly wrong, 0.5 for all-equal scores', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.9])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.9])).toBe(0);
    expect(rocAuc([1, 0, 1, 0, 0], [0.5, 0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('reversing the scores gives 1 - AUC, and matches counting every pair', () => {
    const { labels, scores } = syntheticScores(301, 7);
    // Quantise so that plenty of ties occur.
    const rounded = scores.map((s) => Math.round(s * 20) / 20);
    const auc = rocAuc(labels, rounded);
    expect(rocAuc(labels, rounded.map((s) => 1 - s))).toBeCloseTo(1 - auc, 12);

    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] !== 1) continue;
      for (let j = 0; j < labels.length; j++) {
        if (labels[j] !== 0) continue;
        pairs++;
        wins += rounded[i] > rounded[j] ? 1 : rounded[i] === rounded[j] ? 0.5 : 0;
      }
    }
    expect(auc).toBeCloseTo(wins / pairs, 12);
  });

  it('is NaN when a class is absent, and rejects malformed input', () => {
    expect(rocAuc([1, 1], [0.2, 0.4])).toBeNaN();
    expect(rocAuc([], [])).toBeNaN();
    expectMetricsError(() => rocAuc([1, 0], [0.5]), 'LENGTH_MISMATCH');
    expectMetricsError(() => rocAuc([1, 2], [0.5, 0.2]), 'INVALID_LABEL');
    expectMetricsError(() => rocAuc([1, 0], [0.5, Number.NaN]), 'INVALID_SCORE');
  });
});

describe('rocCurve', () => {
  it('has one point per distinct score, from (0,0) to (1,1)', () => {
    expect(rocCurve(labels4, scores4)).toEqual([
      { fpr: 0, tpr: 0, threshold: 1.8 },
      { fpr: 0.5, tpr: 0.5, threshold: 0.8 },
      { fpr: 0.5, tpr: 1, threshold: 0.6 },
      { fpr: 1, tpr: 1, threshold: 0.2 },
    ]);
  });

  it('is thinned to maxPoints, monotone, keeping both end points', () => {
    const { labels, scores } = syntheticScores(1000, 3);
    const full = rocCurve(labels, scores, 10_000);
    expect(full.length).toBe(1001);
    const thinned = rocCurve(labels, scores, 25);
    expect(thinned.length).toBe(25);
    expect(thinned[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(thinned[24]).toMatchObject({ fpr: 1, tpr: 1 });
    for (let k = 1; k < thinned.length; k++) {
      expect(thinned[k].fpr).toBeGreaterThanOrEqual(thinned[k - 1].fpr);
      expect(thinned[k].tpr).toBeGreaterThanOrEqual(thinned[k - 1].tpr);
      expect(thinned[k].threshold).toBeLessThan(thinned[k - 1].threshold);
    }
  });

  it('each point matches the confusion matrix at its threshold', () => {
    const { labels, scores } = syntheticScores(60, 11);
    const positives = labels.filter((l) => l === 1).length;
    for (const point of rocCurve(labels, scores)) {
      const m = confusionAt(labels, scores, point.threshold);
      expect(point.tpr).toBeCloseTo(m.tp / positives, 12);
      expect(point.fpr).toBeCloseTo(m.fp / (labels.length - positives), 12);
    }
  });

  it('is empty when a class is absent', () => {
    expect(rocCurve([0, 0], [0.1, 0.2])).toEqual([]);
  });
});

describe('confusionAt', () => {
  it('counts a score equal to the threshold as positive', () => {
    expect(confusionAt(labels4, scores4, 0.6)).toEqual({ tp: 2, fp: 1, tn: 1, fn: 0 });
    expect(confusionAt(labels4, scores4, 0.61)).toEqual({ tp: 1, fp: 1, tn: 1, fn: 1 });
    expect(confusionAt(labels4, scores4, 0.9)).toEqual({ tp: 0, fp: 0, tn: 2, fn: 2 });
  });
});

describe('chooseThreshold', () => {
  // Positives score .9 .7 .4 .2; negatives .8 .5 .3 .1.
  const labels = [1, 1, 1, 1, 0, 0, 0, 0];
  const scores = [0.9, 0.7, 0.4, 0.2, 0.8, 0.5, 0.3, 0.1];

  it('is the highest threshold meeting the sensitivity floor', () => {
    expect(chooseThreshold(labels, scores, { targetSensitivity: 0.75 })).toBe(0.4); // 3 of 4 positives
    expect(chooseThreshold(labels, scores, { targetSensitivity: 0.5 })).toBe(0.7); // 2 of 4
    expect(chooseThreshold(labels, scores, { targetSensitivity: 0.51 })).toBe(0.4); // needs 3
    expect(chooseThreshold(labels, scores)).toBe(0.2); // default 0.9 needs all 4
    expect(chooseThreshold(labels, scores, { targetSensitivity: 0 })).toBe(0.9);
    const m = confusionAt(labels, scores, 0.4);
    expect(m.tp / (m.tp + m.fn)).toBe(0.75);
    expect(m.tn / (m.tn + m.fp)).toBe(0.5);
  });

  it('is not fooled by floating-point products such as 0.7 * 10', () => {
    const tenPositives = Array.from({ length: 10 }, () => 1);
    const descending = Array.from({ length: 10 }, (_, i) => (10 - i) / 10); // 1.0 .. 0.1
    expect(chooseThreshold(tenPositives, descending, { targetSensitivity: 0.7 })).toBe(0.4); // 7th highest
  });

  it('with tied scores may exceed the target', () => {
    expect(chooseThreshold([1, 1, 1, 0], [0.6, 0.6, 0.3, 0.5], { targetSensitivity: 0.5 })).toBe(0.6);
  });

  it('throws without positives or with an impossible target', () => {
    expectMetricsError(() => chooseThreshold([0, 0], [0.3, 0.4]), 'SINGLE_CLASS');
    expectMetricsError(() => chooseThreshold(labels, scores, { targetSensitivity: 1.5 }), 'INVALID_ARGUMENT');
  });
});

describe('calibration', () => {
  // Bin [0, .5): scores .1 .3 (mean .2), labels 0 1 (fraction .5) -> |.2 - .5| * 2/4 = .15
  // Bin [.5, 1]: scores .6 .9 (mean .75), labels 1 1 (fraction 1) -> |.75 - 1| * 2/4 = .125
  const labels = [0, 1, 1, 1];
  const scores = [0.1, 0.3, 0.6, 0.9];

  it('computes ECE over two equal-width bins by hand', () => {
    expect(expectedCalibrationError(labels, scores, 2)).toBeCloseTo(0.275, 12);
    const bins = calibrationBins(labels, scores, 2);
    expect(bins).toHaveLength(2);
    expect(bins[0]).toMatchObject({ lower: 0, upper: 0.5, count: 2 });
    expect(bins[0].meanPredicted).toBeCloseTo(0.2, 12);
    expect(bins[0].fractionPositive).toBe(0.5);
    expect(bins[1].meanPredicted).toBeCloseTo(0.75, 12);
    expect(bins[1].fractionPositive).toBe(1);
  });

  it('puts 0.5 and 1 in the upper bin and leaves empty bins out', () => {
    const bins = calibrationBins([1, 0], [0.5, 1], 2);
    expect(bins).toEqual([{ lower: 0.5, upper: 1, count: 2, meanPredicted: 0.75, fractionPositive: 0.5 }]);
    expect(calibrationBins([1, 0], [0.05, 0.95], 10).map((b) => b.lower)).toEqual([0, 0.9]);
  });

  it('is zero for perfectly calibrated bins and NaN for no data', () => {
    expect(expectedCalibrationError([1, 0, 1, 1], [0.75, 0.75, 0.75, 0.75], 4)).toBe(0);
    expect(expectedCalibrationError([], [])).toBeNaN();
  });
});

describe('evaluateScores', () => {
  it('puts the pieces together', () => {
    const m = evaluateScores(labels4, scores4, 0.6);
    expect(m.n).toBe(4);
    expect(m.positives).toBe(2);
    expect(m.confusionMatrix).toEqual({ tp: 2, fp: 1, tn: 1, fn: 0 });
    expect(m.accuracy).toBe(0.75);
    expect(m.sensitivity).toBe(1);
    expect(m.specificity).toBe(0.5);
    expect(m.balancedAccuracy).toBe(0.75);
    expect(m.auc).toBeCloseTo(0.625, 12);
    expect(m.threshold).toBe(0.6);
    expect(m.roc).toHaveLength(4);
    // Bins of width .1: {.2} label 0 -> .2 * 1/4; {.6} label 1 -> .4 * 1/4; {.8,.8} labels 1,0 -> .3 * 2/4
    expect(m.ece).toBeCloseTo(0.05 + 0.1 + 0.15, 12);
    expect(m.calibration.map((b) => b.count)).toEqual([1, 1, 2]);
  });
});

describe('bootstrapInterval', () => {
  it('contains the estimate, narrows with more data and is reproducible', () => {
    const small = syntheticScores(60, 21);
    const large = syntheticScores(1200, 22);
    const options = { iterations: 400, seed: 5 };
    const a = bootstrapInterval(small.labels, small.scores, rocAuc, options);
    const b = bootstrapInterval(large.labels, large.scores, rocAuc, options);
    for (const ci of [a, b]) {
      expect(ci.lower).toBeLessThan(ci.estimate);
      expect(ci.upper).toBeGreaterThan(ci.estimate);
      expect(ci.iterations).toBe(400);
    }
    expect(a.estimate).toBe(rocAuc(small.labels, small.scores));
    expect(b.upper - b.lower).toBeLessThan((a.upper - a.lower) / 2);
    expect(bootstrapInterval(small.labels, small.scores, rocAuc, options)).toEqual(a);
  });

  it('keeps both classes in every resample', () => {
    // A single positive: unstratified resampling would often lose it and make AUC undefined.
    const labels = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const scores = [0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95];
    const ci = bootstrapInterval(labels, scores, rocAuc, { iterations: 200, seed: 1 });
    expect(ci.iterations).toBe(200);
    expect(ci.lower).toBeGreaterThanOrEqual(0);
    expect(ci.upper).toBeLessThanOrEqual(1);
  });
});

describe('temperature scaling', () => {
  function logitsWithTemperature(trueTemperature: number, n: number, seed: number) {
    const random = lcg(seed);
    const labels: number[] = [];
    const logits: number[] = [];
    for (let i = 0; i < n; i++) {
      const calibrated = 2 * gaussian(random); // the logit whose sigmoid is the true probability
      labels.push(random() < 1 / (1 + Math.exp(-calibrated)) ? 1 : 0);
      logits.push(calibrated * trueTemperature);
    }
    return { labels, logits };
  }

  it('recovers a known over-confidence temperature', () => {
    const { labels, logits } = logitsWithTemperature(2.5, 20_000, 31);
    const t = fitTemperature(labels, logits);
    expect(Math.abs(t - 2.5) / 2.5).toBeLessThan(0.08);
    expect(temperatureNll(labels, logits, t)).toBeLessThan(temperatureNll(labels, logits, 1));
  });

  it('recovers a known under-confidence temperature', () => {
    const { labels, logits } = logitsWithTemperature(0.5, 20_000, 32);
    expect(Math.abs(fitTemperature(labels, logits) - 0.5) / 0.5).toBeLessThan(0.08);
  });

  it('goes to the lower bound on perfectly separated data', () => {
    const t = fitTemperature([0, 0, 1, 1], [-2, -1, 1, 2], { minTemperature: 0.05, maxTemperature: 20 });
    expect(t).toBeCloseTo(0.05, 4);
  });

  it('applies sigmoid(logit / T)', () => {
    const p = applyTemperature([0, 2, -4], 2);
    expect(p[0]).toBe(0.5);
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(p[2]).toBeCloseTo(1 / (1 + Math.exp(2)), 12);
    expectMetricsError(() => applyTemperature([1], 0), 'INVALID_ARGUMENT');
  });
});
