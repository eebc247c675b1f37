// A summary of how a picture looks, independent of the network: tones, colour, edges and where
// the dark part lies. Dermoscopic photos share a look (a pigmented patch on smoother skin, warm
// tones, edges in every direction); documents, drawings and screenshots do not, even when a
// network's embedding happens to place them among lesions.
import { luminance } from './image-quality.js';
import { lowerOrderStatistics } from './order-statistics.js';
import { ScratchFloats } from './scratch.js';

const TONE_BINS = 16;
const ORIENTATION_BINS = 8;
const TAN_10_DEGREES = Math.tan(Math.PI / 18);
/** The bin boundaries k * 180° / ORIENTATION_BINS, k = 1..7, as cos and sin (written out in orientationBin). */
const boundary = (f: (angle: number) => number) => Array.from({ length: ORIENTATION_BINS - 1 }, (_, k) => f(((k + 1) * Math.PI) / ORIENTATION_BINS));
const [C0, C1, C2, C3, C4, C5, C6] = boundary(Math.cos) as [number, number, number, number, number, number, number];
const [S0, S1, S2, S3, S4, S5, S6] = boundary(Math.sin) as [number, number, number, number, number, number, number];

/**
 * Which of the equal bins of [0°, 180°) the direction of (gx, gy) falls in, an edge and its
 * opposite being one orientation: the direction is turned into the upper half-plane and compared
 * with each boundary by a cross product (atan2 per pixel was most of this module's time). The
 * boundaries lie 22.5° apart, so the direction is past the first few of them and short of the
 * rest: counting the ones it is past gives the bin without a branch (branches on the direction
 * of each pixel's edge were mispredicted about half the time).
 */
function orientationBin(gx: number, gy: number): number {
  const flip = gy < 0 || (gy === 0 && gx < 0);
  const u = flip ? -gx : gx;
  const v = flip ? -gy : gy;
  return (
    +(v * C0 - u * S0 >= 0) +
    +(v * C1 - u * S1 >= 0) +
    +(v * C2 - u * S2 >= 0) +
    +(v * C3 - u * S3 >= 0) +
    +(v * C4 - u * S4 >= 0) +
    +(v * C5 - u * S5 >= 0) +
    +(v * C6 - u * S6 >= 0)
  );
}

const edgeStrengths = new ScratchFloats();

/**
 * 40 numbers: the luminance histogram (16), the edge-orientation histogram weighted by edge
 * strength (8), log edge strength at the median, 90th and 99th percentile and on average (4),
 * centre-minus-surround luminance (1), mean and spread of R, G, B, R-G and G-B (10), and the
 * share of strong edges that are horizontal or vertical (1). `y`: the pixels' `luminance`, when the
 * caller has it already.
 */
export function describeAppearance(pixels: Uint8Array, size: number, y: Float32Array = luminance(pixels, size)): Float32Array {
  const n = size * size;
  const tones = new Float32Array(TONE_BINS);
  // Indexed, not for...of: iterating a typed array made a heap object per pixel.
  for (let i = 0; i < n; i++) tones[Math.min(TONE_BINS - 1, Math.floor(y[i]! / (256 / TONE_BINS)))]! += 1 / n;

  const orientations = new Float32Array(ORIENTATION_BINS);
  const strengths = edgeStrengths.take(Math.max(0, (size - 2) * (size - 2)));
  let total = 0;
  let axisAligned = 0;
  let k = 0;
  for (let r = 1; r < size - 1; r++) {
    for (let c = 1; c < size - 1; c++) {
      const i = r * size + c;
      const gx = y[i + 1]! - y[i - 1]!;
      const gy = y[i + size]! - y[i - size]!;
      const strength = Math.sqrt(gx * gx + gy * gy);
      orientations[orientationBin(gx, gy)]! += strength;
      // Within 10 degrees of horizontal or vertical: print and drawn shapes are full of these.
      axisAligned += +(Math.min(Math.abs(gx), Math.abs(gy)) < TAN_10_DEGREES * Math.max(Math.abs(gx), Math.abs(gy))) * strength;
      total += strength;
      strengths[k++] = strength;
    }
  }
  for (let b = 0; b < ORIENTATION_BINS; b++) orientations[b]! /= total || 1;
  const [median, p90, p99] = lowerOrderStatistics(strengths, [0.5, 0.9, 0.99]);

  let centre = 0;
  let centreCount = 0;
  let surround = 0;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const inCentre = Math.abs(r + 0.5 - size / 2) < size / 4 && Math.abs(c + 0.5 - size / 2) < size / 4;
      if (inCentre) {
        centre += y[r * size + c]!;
        centreCount++;
      } else surround += y[r * size + c]!;
    }
  }
  const centreContrast = (centre / Math.max(1, centreCount) - surround / Math.max(1, n - centreCount)) / 64;

  // R, G, B, R-G, G-B: sums and sums of squares (integers, so exact in doubles).
  let [r0, g0, b0, rg0, gb0] = [0, 0, 0, 0, 0];
  let [r2, g2, b2, rg2, gb2] = [0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const red = pixels[i * 3]!;
    const green = pixels[i * 3 + 1]!;
    const blue = pixels[i * 3 + 2]!;
    r0 += red;
    g0 += green;
    b0 += blue;
    rg0 += red - green;
    gb0 += green - blue;
    r2 += red * red;
    g2 += green * green;
    b2 += blue * blue;
    rg2 += (red - green) * (red - green);
    gb2 += (green - blue) * (green - blue);
  }
  const sums = [r0, g0, b0, rg0, gb0];
  const squares = [r2, g2, b2, rg2, gb2];
  const means = Array.from(sums, (s) => s / n / 64);
  const spreads = Array.from(squares, (s, j) => Math.sqrt(Math.max(0, s / n - (sums[j]! / n) ** 2)) / 64);

  return Float32Array.from([
    ...tones,
    ...orientations,
    Math.log1p(median!),
    Math.log1p(p90!),
    Math.log1p(p99!),
    Math.log1p(total / Math.max(1, strengths.length)),
    centreContrast,
    ...means,
    ...spreads,
    axisAligned / (total || 1),
  ]);
}
