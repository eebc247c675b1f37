// The appearance summary the input guard compares with the training images': its edge
// orientations against a direct definition (atan2), and what it shares with the quality measures.
import { describe, expect, it } from 'vitest';
import { describeAppearance } from '../../server/ml/guard/appearance.js';
import { luminance, measureQuality } from '../../server/ml/guard/image-quality.js';
import { createRng } from '../../server/ml/random.js';

const SIZE = 48;

/** The strength-weighted histogram of edge orientations over [0°, 180°) in 8 bins, by atan2. */
function orientationHistogram(pixels: Uint8Array, size: number): number[] {
  const y = luminance(pixels, size);
  const bins = new Array<number>(8).fill(0);
  let total = 0;
  for (let r = 1; r < size - 1; r++) {
    for (let c = 1; c < size - 1; c++) {
      const gx = y[r * size + c + 1]! - y[r * size + c - 1]!;
      const gy = y[(r + 1) * size + c]! - y[(r - 1) * size + c]!;
      const strength = Math.hypot(gx, gy);
      const degrees = (((Math.atan2(gy, gx) * 180) / Math.PI) + 360) % 180;
      bins[Math.min(7, Math.floor(degrees / 22.5))]! += strength;
      total += strength;
    }
  }
  return bins.map((b) => b / total);
}

function randomPixels(seed: number, smooth: boolean): Uint8Array {
  const rng = createRng(seed);
  const pixels = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(rng.next() * 256);
  if (!smooth) return pixels;
  // Blurred along a random direction, so one orientation dominates.
  const out = new Uint8Array(pixels.length);
  const [dr, dc] = [Math.round(rng.next() * 4 - 2), Math.round(rng.next() * 4 - 2)];
  for (let r = 0; r < SIZE; r++) {
    for (let c = 0; c < SIZE; c++) {
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        for (let t = -3; t <= 3; t++) {
          const rr = Math.min(SIZE - 1, Math.max(0, r + t * dr));
          const cc = Math.min(SIZE - 1, Math.max(0, c + t * dc));
          sum += pixels[(rr * SIZE + cc) * 3 + ch]!;
        }
        out[(r * SIZE + c) * 3 + ch] = Math.round(sum / 7);
      }
    }
  }
  return out;
}

describe('describeAppearance', () => {
  it('bins edge orientations as atan2 does, on noise and on directionally blurred pictures', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const pixels = randomPixels(seed, seed % 2 === 0);
      const features = describeAppearance(pixels, SIZE);
      const expected = orientationHistogram(pixels, SIZE);
      // Features 16-23; float32 sums and a pixel on a bin boundary may differ by a hair.
      expected.forEach((share, bin) => expect(features[16 + bin]).toBeCloseTo(share, 4));
    }
  });

  it('gives the same summary and quality measures after images of other sizes (reused working memory)', () => {
    const small = randomPixels(5, true);
    const first = describeAppearance(small, SIZE);
    const firstQuality = measureQuality(small, SIZE);
    const large = Uint8Array.from({ length: 96 * 96 * 3 }, (_, i) => (i * 37) % 256);
    describeAppearance(large, 96);
    measureQuality(large, 96);
    expect(describeAppearance(small, SIZE)).toEqual(first);
    expect(measureQuality(small, SIZE)).toEqual(firstQuality);
  });

  it('gives the same summary whether or not the luminance is handed in', () => {
    const pixels = randomPixels(99, true);
    expect(describeAppearance(pixels, SIZE, luminance(pixels, SIZE))).toEqual(describeAppearance(pixels, SIZE));
  });
});
