// Mixup: the Beta draws have the right moments, each row becomes a blend of itself (the larger
// share) and one other row with its target blended by the same share, reproducibly from the seed.
import { describe, expect, it } from 'vitest';
import { mixBatch, sampleSymmetricBeta } from '../../server/ml/mixup.js';
import { createRng } from '../../server/ml/random.js';
import type { BatchArrays } from '../../server/ml/dataset.js';

function moments(alpha: number, n = 40_000): { mean: number; variance: number } {
  const rng = createRng(alpha * 1000);
  const draws = Array.from({ length: n }, () => sampleSymmetricBeta(rng, alpha));
  const mean = draws.reduce((a, b) => a + b, 0) / n;
  return { mean, variance: draws.reduce((s, d) => s + (d - mean) ** 2, 0) / n };
}

/** Rows of one constant value each (row i is i+1 tenths), labels alternating. */
function constantRows(count: number, stride = 12): BatchArrays {
  const x = new Float32Array(count * stride);
  for (let i = 0; i < count; i++) x.fill((i + 1) / 10, i * stride, (i + 1) * stride);
  return { size: 2, count, x, y: Float32Array.from({ length: count }, (_, i) => i % 2) };
}

describe('sampleSymmetricBeta', () => {
  it.each([0.2, 1, 3])('Beta(%s, %s) has mean 1/2 and variance 1 / (4 (2 alpha + 1))', (alpha) => {
    const { mean, variance } = moments(alpha);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(variance).toBeCloseTo(1 / (4 * (2 * alpha + 1)), 2);
  });
});

describe('mixBatch', () => {
  it('blends each row with one other row, keeping the larger share, and blends the target alike', () => {
    const before = constantRows(8);
    const mixed = mixBatch(constantRows(8), 0.4, createRng(3));
    let blended = 0;
    for (let row = 0; row < 8; row++) {
      const values = mixed.x.subarray(row * 12, (row + 1) * 12);
      expect(values.every((v) => v === values[0])).toBe(true);
      const own = before.x[row * 12]!;
      if (Math.abs(values[0]! - own) < 1e-7) {
        expect(mixed.y[row]).toBe(before.y[row]);
        continue;
      }
      blended++;
      // Some partner j and share lambda in [1/2, 1] explain both the pixels and the target.
      const explained = [...Array(8).keys()].some((j) => {
        if (j === row) return false;
        const other = before.x[j * 12]!;
        const lambda = (values[0]! - other) / (own - other);
        const target = lambda * before.y[row]! + (1 - lambda) * before.y[j]!;
        return lambda >= 0.5 - 1e-6 && lambda <= 1 + 1e-6 && Math.abs(target - mixed.y[row]!) < 1e-5;
      });
      expect(explained).toBe(true);
    }
    expect(blended).toBeGreaterThan(4);
  });

  it('is reproducible from the seed, and leaves the batch alone when off or alone', () => {
    expect(mixBatch(constantRows(6), 0.4, createRng(9))).toEqual(mixBatch(constantRows(6), 0.4, createRng(9)));
    expect(mixBatch(constantRows(6), 0.4, createRng(9)).x).not.toEqual(mixBatch(constantRows(6), 0.4, createRng(10)).x);
    expect(mixBatch(constantRows(6), 0, createRng(9))).toEqual(constantRows(6));
    expect(mixBatch(constantRows(1), 0.4, createRng(9))).toEqual(constantRows(1));
  });
});
