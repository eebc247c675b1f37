// Mixup (Zhang et al., 2018): train on blends of two images with the same blend of their labels.
// On a small set it discourages the sharp, over-confident boundaries a network draws around
// single training images. Each image keeps the larger share (lambda >= 1/2), so its label still
// mostly decides the target; the class weights follow the blended target (loss.ts).
import type { BatchArrays } from './dataset.js';
import type { Rng } from './random.js';

function standardNormal(rng: Rng): number {
  // Box-Muller; 1 - next() is in (0, 1], so the log is finite.
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** Gamma(shape, 1) by Marsaglia and Tsang (2000), boosted for shape < 1. */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`gamma shape must be positive, got ${shape}`);
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(alpha, alpha). */
export function sampleSymmetricBeta(rng: Rng, alpha: number): number {
  const a = sampleGamma(rng, alpha);
  const b = sampleGamma(rng, alpha);
  return a + b > 0 ? a / (a + b) : 0.5;
}

/**
 * Blends every row of `batch` in place with a randomly chosen other row: lambda ~ Beta(alpha,
 * alpha) per row, folded to >= 1/2, applied to pixels and target alike. A batch of one is left as it is.
 */
export function mixBatch(batch: BatchArrays, alpha: number, rng: Rng): BatchArrays {
  const { count, x, y } = batch;
  if (count < 2 || alpha <= 0) return batch;
  const stride = x.length / count;
  const partners = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  const originalX = x.slice();
  const originalY = y.slice();
  for (let row = 0; row < count; row++) {
    const drawn = sampleSymmetricBeta(rng, alpha);
    const lambda = Math.max(drawn, 1 - drawn);
    const partner = partners[row]!;
    if (partner === row) continue;
    const out = row * stride;
    const other = partner * stride;
    for (let i = 0; i < stride; i++) x[out + i] = lambda * originalX[out + i]! + (1 - lambda) * originalX[other + i]!;
    y[row] = lambda * originalY[row]! + (1 - lambda) * originalY[partner]!;
  }
  return batch;
}
