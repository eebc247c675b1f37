import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lowerOrderStatistics, orderStatistics, quantile, selectInPlace, selectQuantile } from '../../server/ml/guard/order-statistics.js';

describe('selectQuantile', () => {
  it('equals the quantile of the sorted values, for any values and share', () => {
    fc.assert(
      fc.property(
        // Few distinct values too, so ties and constant runs are common.
        fc.oneof(fc.array(fc.float({ noNaN: true, min: -1000, max: 1000 }), { minLength: 1, maxLength: 300 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 300 })),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const data = Float32Array.from(values);
          const sorted = Float32Array.from(data).sort();
          expect(selectQuantile(data, q)).toBe(quantile(sorted, q));
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('handles sorted, reversed and constant inputs of image size', () => {
    const n = 94 * 94;
    for (const make of [(i: number) => i, (i: number) => n - i, () => 5, (i: number) => i % 7]) {
      const data = Float32Array.from({ length: n }, (_, i) => make(i));
      const expected = quantile(Float32Array.from(data).sort(), 0.5);
      expect(selectQuantile(data, 0.5)).toBe(expected);
    }
    expect(() => selectQuantile(new Float32Array(0), 0.5)).toThrow(/no values/);
  });
});

describe('orderStatistics', () => {
  it('equals indexing the sorted values, for any floats (signed zeros, infinities, tiny and huge) and leaves them in place', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 400 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
        (values, shares) => {
          const data = Float32Array.from(values);
          const before = Float32Array.from(data);
          const sorted = Float32Array.from(data).sort();
          const ranks = shares.map((q) => Math.floor(q * (data.length - 1))).sort((a, b) => a - b);
          // Object.is, via toEqual on arrays: -0 and +0 are told apart, as the sort orders them.
          expect(orderStatistics(data, ranks)).toEqual(ranks.map((k) => sorted[k]));
          expect(data).toEqual(before);
        },
      ),
      { numRuns: 2000, seed: 5 },
    );
  });

  it('finds the median of image-sized measures that crowd into one narrow range', () => {
    // 94 x 94 values, most within one bucket of the first pass: the selection inside it decides.
    const data = Float32Array.from({ length: 94 * 94 }, (_, i) => 10 + ((i * 7919) % 8836) / 1e6);
    const sorted = Float32Array.from(data).sort();
    expect(orderStatistics(data, [0, 4417, 4418, 8835])).toEqual([sorted[0], sorted[4417], sorted[4418], sorted[8835]]);
  });

  it('refuses ranks outside the values or out of order', () => {
    const data = Float32Array.from([3, 1, 2]);
    expect(() => orderStatistics(data, [3])).toThrow(/outside/);
    expect(() => orderStatistics(data, [-1])).toThrow(/outside/);
    expect(() => orderStatistics(data, [2, 1])).toThrow(/ascending/);
  });
});

describe('lowerOrderStatistics', () => {
  it('equals indexing the sorted values at floor(q * (n - 1)), for any values and ascending shares', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, min: -1000, max: 1000 }), { maxLength: 300 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }),
        (values, shares) => {
          const ascending = [...shares].sort((a, b) => a - b);
          const sorted = Float32Array.from(values).sort();
          const expected = ascending.map((q) => (sorted.length ? sorted[Math.floor(q * (sorted.length - 1))]! : 0));
          expect(lowerOrderStatistics(Float32Array.from(values), ascending)).toEqual(expected);
        },
      ),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('leaves smaller values before a selected one and larger after it', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    const k = 321;
    const value = selectInPlace(data, k);
    expect(value).toBe(321);
    expect(data.subarray(0, k).every((v) => v <= value)).toBe(true);
    expect(data.subarray(k + 1).every((v) => v >= value)).toBe(true);
  });
});
