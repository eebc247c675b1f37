import { describe, expect, it } from 'vitest';
import { augmentInto, copyInto, defaultAugmentOptions, noAugmentation, strongAugmentOptions, type AugmentOptions } from '../../server/ml/augment.js';
import { createRng } from '../../server/ml/random.js';
import { noisePixels } from '../helpers/images.js';

const SIZE = 6;
const LENGTH = SIZE * SIZE * 3;

/** Reference geometry, written pixel by pixel as the textbook definitions. */
function transformed(src: Uint8Array, size: number, source: (y: number, x: number) => [number, number]): number[] {
  const out: number[] = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [sy, sx] = source(y, x);
      const i = (sy * size + sx) * 3;
      out.push(src[i] / 255, src[i + 1] / 255, src[i + 2] / 255);
    }
  }
  return out;
}

function allGeometricVariants(src: Uint8Array, size: number): number[][] {
  const n = size - 1;
  const maps: ((y: number, x: number) => [number, number])[] = [
    (y, x) => [y, x],
    (y, x) => [y, n - x], // mirror left-right
    (y, x) => [n - y, x], // mirror top-bottom
    (y, x) => [n - y, n - x], // half turn
    (y, x) => [x, n - y], // quarter turn
    (y, x) => [n - x, y], // three-quarter turn
    (y, x) => [x, y], // transpose
    (y, x) => [n - x, n - y], // anti-transpose
  ];
  return maps.map((map) => transformed(src, size, map));
}

function augmented(src: Uint8Array, seed: number, options: AugmentOptions): number[] {
  const dst = new Float32Array(LENGTH);
  augmentInto(src, SIZE, dst, 0, createRng(seed), options);
  return Array.from(dst);
}

const sortedBytes = (values: ArrayLike<number>): number[] => Array.from(values, (v) => Math.round(v * 255)).sort((a, b) => a - b);

const geometryOnly: AugmentOptions = { ...noAugmentation, flipHorizontal: true, flipVertical: true, rotate90: true };

describe('copyInto', () => {
  it('writes bytes / 255 at the offset and nothing else', () => {
    const src = noisePixels(SIZE, SIZE, 1);
    const dst = new Float32Array(LENGTH + 10).fill(-1);
    copyInto(src, dst, 5);
    expect(Array.from(dst.subarray(0, 5))).toEqual([-1, -1, -1, -1, -1]);
    expect(Array.from(dst.subarray(LENGTH + 5))).toEqual([-1, -1, -1, -1, -1]);
    for (let i = 0; i < LENGTH; i++) expect(dst[5 + i]).toBeCloseTo(src[i] / 255, 6);
  });

  it('refuses to write past the end', () => {
    expect(() => copyInto(new Uint8Array(LENGTH), new Float32Array(LENGTH), 1)).toThrow(RangeError);
  });
});

describe('augmentInto', () => {
  const src = noisePixels(SIZE, SIZE, 42);

  it('is exactly copyInto when every option is off', () => {
    const expected = new Float32Array(LENGTH);
    copyInto(src, expected, 0);
    for (const seed of [1, 2, 3]) expect(augmented(src, seed, noAugmentation)).toEqual(Array.from(expected));
  });

  it('writes only its own slice of the batch buffer', () => {
    const dst = new Float32Array(3 * LENGTH).fill(-1);
    augmentInto(src, SIZE, dst, LENGTH, createRng(9), defaultAugmentOptions);
    expect(dst.subarray(0, LENGTH).every((v) => v === -1)).toBe(true);
    expect(dst.subarray(2 * LENGTH).every((v) => v === -1)).toBe(true);
    expect(dst.subarray(LENGTH, 2 * LENGTH).every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('flips and rotations only move whole pixels: the output is one of the 8 symmetries of the square', () => {
    const variants = allGeometricVariants(src, SIZE).map((v) => JSON.stringify(v.map((x) => Math.fround(x))));
    const seen = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const out = augmented(src, seed, geometryOnly);
      const match = variants.indexOf(JSON.stringify(out));
      expect(match, `seed ${seed} produced a pixel arrangement that is no symmetry`).toBeGreaterThanOrEqual(0);
      expect(sortedBytes(out)).toEqual(sortedBytes(Array.from(src, (v) => v / 255)));
      seen.add(match);
    }
    // Over 200 draws every symmetry shows up.
    expect(seen.size).toBe(8);
  });

  it('rotation alone gives each of the four quarter turns and never a mirror image', () => {
    const variants = allGeometricVariants(src, SIZE).map((v) => JSON.stringify(v.map((x) => Math.fround(x))));
    const rotations = new Set([0, 3, 4, 5]);
    const seen = new Set<number>();
    for (let seed = 0; seed < 100; seed++) {
      const match = variants.indexOf(JSON.stringify(augmented(src, seed, { ...noAugmentation, rotate90: true })));
      expect(rotations.has(match), `seed ${seed} gave variant ${match}`).toBe(true);
      seen.add(match);
    }
    expect(seen).toEqual(rotations);
  });

  it('horizontal flip alone gives the image or its mirror, both about equally often', () => {
    const [identity, mirror] = allGeometricVariants(src, SIZE).map((v) => JSON.stringify(v.map((x) => Math.fround(x))));
    let mirrored = 0;
    for (let seed = 0; seed < 400; seed++) {
      const out = JSON.stringify(augmented(src, seed, { ...noAugmentation, flipHorizontal: true }));
      expect([identity, mirror]).toContain(out);
      if (out === mirror) mirrored++;
    }
    expect(mirrored).toBeGreaterThan(140);
    expect(mirrored).toBeLessThan(260);
  });

  it('brightness/contrast jitter stays within bounds and in [0, 1]', () => {
    // Mid-range values: a +-10 % brightness and contrast change moves each by at most ~0.1.
    const mid = Uint8Array.from({ length: LENGTH }, (_, i) => 64 + (i % 128));
    let changed = 0;
    for (let seed = 0; seed < 50; seed++) {
      const out = augmented(mid, seed, { ...noAugmentation, brightness: 0.1, contrast: 0.1 });
      out.forEach((v, i) => {
        expect(Math.abs(v - mid[i] / 255)).toBeLessThan(0.12);
        if (Math.abs(v - mid[i] / 255) > 1e-6) changed++;
      });
    }
    expect(changed).toBeGreaterThan(0);

    const extremes = Uint8Array.from({ length: LENGTH }, (_, i) => (i % 2 ? 255 : 0));
    for (let seed = 0; seed < 50; seed++) {
      const out = augmented(extremes, seed, { ...defaultAugmentOptions, brightness: 0.5, contrast: 0.5 });
      expect(out.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = augmented(src, 123, defaultAugmentOptions);
    expect(augmented(src, 123, defaultAugmentOptions)).toEqual(a);
    const others = [124, 125, 126, 127].map((seed) => JSON.stringify(augmented(src, seed, defaultAugmentOptions)));
    expect(others.some((o) => o !== JSON.stringify(a))).toBe(true);
  });

  it('rejects pixels that do not match the size', () => {
    expect(() => augmentInto(new Uint8Array(10), SIZE, new Float32Array(LENGTH), 0, createRng(1))).toThrow(RangeError);
  });
});

describe('augmentInto with resampling (strong augmentation)', () => {
  const size = 24;
  /** A blurred disc in the middle of a light background: the same under any rotation about the centre. */
  const disc = Uint8Array.from({ length: size * size * 3 }, (_, k) => {
    const p = Math.floor(k / 3);
    const r = Math.hypot(Math.floor(p / size) - (size - 1) / 2, (p % size) - (size - 1) / 2);
    return Math.round(60 + 160 / (1 + Math.exp(5 - r)));
  });
  const run = (src: Uint8Array, seed: number, options: AugmentOptions) => {
    const dst = new Float32Array(src.length);
    augmentInto(src, size, dst, 0, createRng(seed), options);
    return dst;
  };

  it('stays in [0, 1], is deterministic for a seed and differs across seeds', () => {
    const src = noisePixels(size, size, 4);
    const a = run(src, 1, strongAugmentOptions);
    expect(Array.from(a).every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Array.from(run(src, 1, strongAugmentOptions))).toEqual(Array.from(a));
    expect(Array.from(run(src, 2, strongAugmentOptions))).not.toEqual(Array.from(a));
  });

  it('rotates about the centre: a centred disc stays where it was under any angle', () => {
    const rotationOnly: AugmentOptions = { ...noAugmentation, freeRotation: true };
    const original = Array.from(disc, (v) => v / 255);
    for (let seed = 0; seed < 5; seed++) {
      const rotated = run(disc, seed, rotationOnly);
      const worst = Math.max(...Array.from(rotated, (v, i) => Math.abs(v - original[i]!)));
      expect(worst).toBeLessThan(0.12); // resampling blur at the disc's edge only
    }
  });

  it('zooms in: the dark centre grows', () => {
    const zoomOnly: AugmentOptions = { ...noAugmentation, zoom: 0.5 };
    const darkShare = (values: ArrayLike<number>) => Array.from(values).filter((v) => v < 0.4).length / values.length;
    const original = darkShare(Array.from(disc, (v) => v / 255));
    for (let seed = 0; seed < 5; seed++) expect(darkShare(run(disc, seed, zoomOnly))).toBeGreaterThanOrEqual(original);
    expect(Math.max(...[0, 1, 2, 3, 4].map((seed) => darkShare(run(disc, seed, zoomOnly))))).toBeGreaterThan(original * 1.2);
  });

  it('changes saturation without changing grey pixels', () => {
    const grey = Uint8Array.from({ length: size * size * 3 }, (_, k) => (Math.floor(k / 3) * 7) % 256);
    const saturationOnly: AugmentOptions = { ...noAugmentation, saturation: 0.5 };
    const out = run(grey, 3, saturationOnly);
    out.forEach((v, i) => expect(v).toBeCloseTo(grey[i]! / 255, 5));
    const colour = noisePixels(size, size, 5);
    expect(Array.from(run(colour, 3, saturationOnly))).not.toEqual(Array.from(colour, (v) => v / 255));
  });
});

describe('createRng', () => {
  it('repeats its sequence for a seed', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
    expect(seqA.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('int(n) covers 0..n-1 roughly uniformly', () => {
    const rng = createRng(3);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 5000; i++) counts[rng.int(5)]++;
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(120);
    expect(() => rng.int(0)).toThrow(RangeError);
  });

  it('shuffle is an in-place permutation, repeatable for a seed', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = createRng(11).shuffle([...items]);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
    expect(shuffled).not.toEqual(items);
    expect(createRng(11).shuffle([...items])).toEqual(shuffled);
    const array = [1, 2, 3];
    expect(createRng(1).shuffle(array)).toBe(array);
  });
});
