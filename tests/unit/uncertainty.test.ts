import { describe, expect, it } from 'vitest';
import { isUncertain, riskBandWithUncertainty, viewInterval } from '../../server/ml/uncertainty.js';

describe('viewInterval', () => {
  it('runs from the 5th to the 95th percentile of the view scores', () => {
    const views = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    const interval = viewInterval(views);
    // Linear interpolation over 8 sorted values: position 0.05 * 7 = 0.35 and 0.95 * 7 = 6.65.
    expect(interval.lower).toBeCloseTo(0.135, 10);
    expect(interval.upper).toBeCloseTo(0.765, 10);
    expect(interval.level).toBe(0.9);
    expect(interval.views).toEqual(views);
  });

  it('collapses to the value when every view agrees', () => {
    expect(viewInterval(Array(8).fill(0.42))).toMatchObject({ lower: 0.42, upper: 0.42 });
  });
});

describe('the uncertain - refer rule', () => {
  const threshold = 0.4;
  it('is uncertain when the interval contains the threshold', () => {
    expect(isUncertain({ lower: 0.35, upper: 0.45 }, threshold, 0.3)).toBe(true);
    expect(isUncertain({ lower: 0.3, upper: 0.4 }, threshold, 0.3)).toBe(true);
    expect(riskBandWithUncertainty(0.44, threshold, { lower: 0.38, upper: 0.5 }, 0.3)).toBe('uncertain');
  });

  it('is uncertain when the interval is wider than the allowed spread, even on one side', () => {
    expect(isUncertain({ lower: 0.5, upper: 0.95 }, threshold, 0.3)).toBe(true);
    expect(riskBandWithUncertainty(0.7, threshold, { lower: 0.5, upper: 0.95 }, 0.3)).toBe('uncertain');
  });

  it('keeps the usual band for a narrow interval on one side of the threshold', () => {
    expect(riskBandWithUncertainty(0.2, threshold, { lower: 0.15, upper: 0.25 }, 0.3)).toBe('low');
    expect(riskBandWithUncertainty(0.5, threshold, { lower: 0.45, upper: 0.55 }, 0.3)).toBe('medium');
    expect(riskBandWithUncertainty(0.9, threshold, { lower: 0.85, upper: 0.95 }, 0.3)).toBe('high');
  });
});
