// On-the-fly augmentation of one square uint8 RGB image straight into a batch's float32 buffer.
// Dermoscopic lesions have no "up" or "left", so any flip, quarter turn or free rotation is
// another plausible image; zoom and shift mimic framing; brightness/contrast/saturation
// changes mimic different lights and cameras.
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
  /** Rotate by a uniformly random angle (corners filled by mirroring the image). */
  freeRotation?: boolean;
  /** Largest zoom-in: 0.25 = scale factor in [1, 1.25). 0 = off. */
  zoom?: number;
  /** Largest shift of the centre, as a fraction of the side. 0 = off. */
  shift?: number;
  /** Largest relative saturation change: 0.2 = factor in [0.8, 1.2). 0 = off. */
  saturation?: number;
}

export const defaultAugmentOptions: AugmentOptions = {
  flipHorizontal: true,
  flipVertical: true,
  rotate90: true,
  brightness: 0.1,
  contrast: 0.1,
};

/** Everything in `defaultAugmentOptions` plus free rotation, zoom, shift and stronger colour changes. */
export const strongAugmentOptions: AugmentOptions = {
  flipHorizontal: true,
  flipVertical: true,
  rotate90: false,
  freeRotation: true,
  zoom: 0.25,
  shift: 0.08,
  brightness: 0.2,
  contrast: 0.2,
  saturation: 0.2,
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

  if (options.freeRotation || (options.zoom ?? 0) > 0 || (options.shift ?? 0) > 0 || (options.saturation ?? 0) > 0) {
    const angle = options.freeRotation ? rng.uniform(0, 2 * Math.PI) + (quarterTurns * Math.PI) / 2 : (quarterTurns * Math.PI) / 2;
    const zoom = (options.zoom ?? 0) > 0 ? rng.uniform(1, 1 + options.zoom!) : 1;
    const shift = options.shift ?? 0;
    const shiftX = shift > 0 ? rng.uniform(-shift, shift) * size : 0;
    const shiftY = shift > 0 ? rng.uniform(-shift, shift) * size : 0;
    const saturation = (options.saturation ?? 0) > 0 ? rng.uniform(1 - options.saturation!, 1 + options.saturation!) : 1;
    const geometry = { flipH, flipV, angle, zoom, shiftX, shiftY };
    resampleInto(src, size, dst, offset, geometry, photometricTable(brightness, contrast), saturation);
    return;
  }

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

interface Resampling {
  flipH: boolean;
  flipV: boolean;
  /** Radians, counter-clockwise. */
  angle: number;
  /** > 1 magnifies. */
  zoom: number;
  /** Source-pixel offsets of the centre. */
  shiftX: number;
  shiftY: number;
}

/** Mirrors a coordinate into [0, last]: the lesion's surroundings continue past the border. */
function reflect(v: number, last: number): number {
  if (last === 0) return 0;
  const period = 2 * last;
  let r = Math.abs(v) % period;
  if (r > last) r = period - r;
  return r;
}

/**
 * The affine path: each output pixel samples the source bilinearly at its rotated, scaled,
 * shifted and mirrored position; colours then go through the brightness/contrast table and a
 * saturation change (a mix with the pixel's grey level).
 */
function resampleInto(src: Uint8Array, size: number, dst: Float32Array, offset: number, g: Resampling, table: Float32Array, saturation: number): void {
  const last = size - 1;
  const centre = last / 2;
  const cos = Math.cos(g.angle) / g.zoom;
  const sin = Math.sin(g.angle) / g.zoom;
  let d = offset;
  const rgb = [0, 0, 0];
  for (let y = 0; y < size; y++) {
    const dy = (g.flipV ? last - y : y) - centre;
    for (let x = 0; x < size; x++) {
      const dx = (g.flipH ? last - x : x) - centre;
      const sx = reflect(centre + g.shiftX + cos * dx - sin * dy, last);
      const sy = reflect(centre + g.shiftY + sin * dx + cos * dy, last);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, last);
      const y1 = Math.min(y0 + 1, last);
      const fx = sx - x0;
      const fy = sy - y0;
      const p00 = (y0 * size + x0) * 3;
      const p01 = (y0 * size + x1) * 3;
      const p10 = (y1 * size + x0) * 3;
      const p11 = (y1 * size + x1) * 3;
      for (let c = 0; c < 3; c++) {
        const top = table[src[p00 + c]] * (1 - fx) + table[src[p01 + c]] * fx;
        const bottom = table[src[p10 + c]] * (1 - fx) + table[src[p11 + c]] * fx;
        rgb[c] = top * (1 - fy) + bottom * fy;
      }
      if (saturation !== 1) {
        const grey = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
        for (let c = 0; c < 3; c++) {
          const v = grey + (rgb[c] - grey) * saturation;
          rgb[c] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
      }
      dst[d++] = rgb[0];
      dst[d++] = rgb[1];
      dst[d++] = rgb[2];
    }
  }
}
