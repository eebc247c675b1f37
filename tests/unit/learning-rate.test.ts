import { describe, expect, it } from 'vitest';
import { learningRateAt } from '../../server/ml/learning-rate.js';

describe('learningRateAt', () => {
  const base = { learningRate: 0.002, warmupSteps: 10, totalSteps: 110 };

  it('warms up linearly, then holds a constant rate', () => {
    const s = { ...base, schedule: 'constant' as const };
    expect(learningRateAt(0, s)).toBeCloseTo(0.0002);
    expect(learningRateAt(4, s)).toBeCloseTo(0.001);
    expect(learningRateAt(9, s)).toBeCloseTo(0.002);
    expect(learningRateAt(100, s)).toBe(0.002);
  });

  it('decays along a cosine from the peak after warm-up to 0 at the last planned step', () => {
    const s = { ...base, schedule: 'cosine' as const };
    expect(learningRateAt(10, s)).toBeCloseTo(0.002);
    expect(learningRateAt(60, s)).toBeCloseTo(0.001);
    expect(learningRateAt(110, s)).toBeCloseTo(0);
    for (let step = 11; step <= 110; step++) expect(learningRateAt(step, s)).toBeLessThanOrEqual(learningRateAt(step - 1, s));
  });

  it('without warm-up starts at the peak', () => {
    expect(learningRateAt(0, { ...base, warmupSteps: 0, schedule: 'cosine' })).toBeCloseTo(0.002);
    expect(learningRateAt(0, { ...base, warmupSteps: 0, schedule: 'constant' })).toBe(0.002);
  });
});
