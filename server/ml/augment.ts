// On-the-fly augmentation of one square uint8 RGB image straight into a batch's float32 buffer.
// Dermoscopic lesions have no "up" or "left", so any flip or quarter turn is another plausible
// image; small brightness/contrast changes mimic different lights and cameras.
import type { Rng } from './random.js';
import { copyInto, unitScale } from './preprocess.js';

export { copyInto };

export interface AugmentOptions {
  flipHorizontal: boolean;
  flipVertical: boolean;
  /** Random multiple of 90 degrees (images here are always square). */
  rotate90: boolean;
  /** Largest relative brightness change: 0.1 scales by a factor in [0.9, 1.1). 0 = off. */
  brightness: number;
  /** Largest relative contrast change around mid-grey: 0.1 = factor in [0.9, 1.1). 0 = off. */
  contrast: number;
}

export const defaultAugmentOptions: AugmentOptions = {
  flipHorizontal: true,
  flipVertical: true,
  rotate90: true,
  brightness: 0.1,
  contrast: 0.1,
};

export const noAugmentation: AugmentOptions = {
  flipHorizontal: false,
  flipVertical: false,
  rotate90: false,
  brightness: 0,
  contrast: 0,
};

// Reused for every image so a batch allocates nothing per image (single-threaded use).
const lookup = new Float32Array(256);
const identityLookup = Float32Array.from({ length: 256 }, (_, v) => unitScale(v));

/** Fills `lookup` with byte -> jittered [0, 1] value; returns the table to use. */
function photometricTable(brightness: number, contrast: number): Float32Array {
  if (brightness === 1 && contrast === 1) return identityLookup;
  for (let v = 0; v < 256; v++) {
    const value = (identityLookup[v] * brightness - 0.5) * contrast + 0.5;
    lookup[v] = value < 0 ? 0 : value > 1 ? 1 : value;
  }
  return lookup;
}

/**
 * Writes a randomly flipped/rotated/jittered copy of `src` (size x size x 3, uint8) into
 * `dst` from `offset`, scaled to [0, 1]. Every random choice comes from `rng`.
 */
export function augmentInto(
  src: Uint8Array,
  size: number,
  dst: Float32Array,
  offset: number,
  rng: Rng,
  options: AugmentOptions = defaultAugmentOptions,
): void {
  const length = size * size * 3;
  if (src.length !== length) throw new RangeError(`augmentInto: ${src.length} values is not ${size}x${size}x3`);
  if (offset < 0 || offset + length > dst.length) {
    throw new RangeError(`augmentInto: ${length} values at ${offset} do not fit in ${dst.length}`);
  }

  const flipH = options.flipHorizontal && rng.next() < 0.5;
  const flipV = options.flipVertical && rng.next() < 0.5;
  const quarterTurns = options.rotate90 ? rng.int(4) : 0;
  const brightness = options.brightness > 0 ? rng.uniform(1 - options.brightness, 1 + options.brightness) : 1;
  const contrast = options.contrast > 0 ? rng.uniform(1 - options.contrast, 1 + options.contrast) : 1;

  // Where output pixel (y, x) comes from in the source. Every flip/quarter turn is affine in
  // (y, x), so three evaluations give the strides for one tight copy loop.
  const last = size - 1;
  const sourceIndex = (y: number, x: number): number => {
    if (flipH) x = last - x;
    if (flipV) y = last - y;
    for (let turn = 0; turn < quarterTurns; turn++) {
      const previousY = y;
      y = x;
      x = last - previousY;
    }
    return y * size + x;
  };
  const origin = sourceIndex(0, 0);
  const columnStep = sourceIndex(0, 1) - origin;
  const rowStep = sourceIndex(1, 0) - origin;

  const table = photometricTable(brightness, contrast);
  let d = offset;
  for (let y = 0; y < size; y++) {
    let s = origin + y * rowStep;
    for (let x = 0; x < size; x++, s += columnStep) {
      const p = s * 3;
      dst[d++] = table[src[p]];
      dst[d++] = table[src[p + 1]];
      dst[d++] = table[src[p + 2]];
    }
  }
}
