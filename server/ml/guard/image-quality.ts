// Cheap checks on the pixels the model will see, before any inference: is the picture sharp,
// properly exposed and detailed enough to judge? Limits are fitted per model version on its own
// training images (see fitQualityLimits), so they follow the kind of photos it was trained on.
import { quantile, selectQuantile } from './order-statistics.js';
import { ScratchFloats } from './scratch.js';

export interface QualityMeasures {
  /** log10(1 + variance of the 4-neighbour Laplacian of the luminance): low = blurred or featureless. */
  sharpness: number;
  /**
   * Median absolute Laplacian: how much fine texture covers the whole picture. Skin is smooth
   * almost everywhere (hairs are sparse, so they move the variance, not the median); sensor
   * noise, grain and printed text are not.
   */
  texture: number;
  /**
   * Correlation of each pixel's luminance with its right and lower neighbours'. Photos of skin are
   * smooth at the scale of a pixel (about 0.95); noise is not (about 0.1), however much resizing
   * has already averaged it.
   */
  smoothness: number;
  /** Share of pixels with luminance >= 250 (blown highlights). */
  highlights: number;
  /** Share of pixels with luminance <= 5 (crushed shadows). */
  shadows: number;
  /** Mean luminance, 0..255. */
  brightness: number;
}

export interface QualityLimits {
  minSharpness: number;
  maxTexture: number;
  minSmoothness: number;
  maxHighlights: number;
  maxShadows: number;
  minBrightness: number;
  maxBrightness: number;
}

export type QualityProblem = 'BLURRY' | 'NOISY' | 'OVEREXPOSED' | 'UNDEREXPOSED';

export interface QualityFinding {
  problem: QualityProblem;
  message: string;
}

const HIGHLIGHT = 250;
const SHADOW = 5;

/** Luminance (Rec. 601) of `size` x `size` RGB pixels, into `y` when given. */
export function luminance(pixels: Uint8Array, size: number, y: Float32Array = new Float32Array(size * size)): Float32Array {
  for (let i = 0; i < y.length; i++) y[i] = 0.299 * pixels[i * 3]! + 0.587 * pixels[i * 3 + 1]! + 0.114 * pixels[i * 3 + 2]!;
  return y;
}

const laplacianMagnitudes = new ScratchFloats();

/** `y`: the pixels' `luminance`, when the caller has it already. */
export function measureQuality(pixels: Uint8Array, size: number, y: Float32Array = luminance(pixels, size)): QualityMeasures {
  if (pixels.length !== size * size * 3) throw new RangeError(`expected ${size * size * 3} values for ${size}px RGB, got ${pixels.length}`);
  let highlights = 0;
  let shadows = 0;
  let total = 0;
  // Indexed, not for...of: iterating a typed array made a heap object per pixel (~145 kB per image).
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    total += v;
    if (v >= HIGHLIGHT) highlights++;
    if (v <= SHADOW) shadows++;
  }
  const inner = Math.max(0, size - 2);
  const magnitudes = laplacianMagnitudes.take(inner * inner);
  let sum = 0;
  let sumSquares = 0;
  let k = 0;
  for (let r = 1; r < size - 1; r++) {
    for (let c = 1; c < size - 1; c++) {
      const i = r * size + c;
      const laplacian = y[i - size]! + y[i + size]! + y[i - 1]! + y[i + 1]! - 4 * y[i]!;
      sum += laplacian;
      sumSquares += laplacian * laplacian;
      magnitudes[k++] = Math.abs(laplacian);
    }
  }
  const count = magnitudes.length;
  const mean = count > 0 ? sum / count : 0;
  const variance = count > 0 ? Math.max(0, sumSquares / count - mean * mean) : 0;
  const texture = count > 0 ? selectQuantile(magnitudes, 0.5) : 0;
  const brightness = total / y.length;
  return { sharpness: Math.log10(1 + variance), texture, smoothness: neighbourCorrelation(y, size, brightness), highlights: highlights / y.length, shadows: shadows / y.length, brightness };
}

/** Lag-one autocorrelation of `y` over horizontal and vertical neighbours; 1 for a flat picture. */
function neighbourCorrelation(y: Float32Array, size: number, mean: number): number {
  let products = 0;
  let pairs = 0;
  let squares = 0;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const d = y[r * size + c]! - mean;
      squares += d * d;
      if (c + 1 < size) {
        products += d * (y[r * size + c + 1]! - mean);
        pairs++;
      }
      if (r + 1 < size) {
        products += d * (y[(r + 1) * size + c]! - mean);
        pairs++;
      }
    }
  }
  const variance = squares / y.length;
  return variance > 1e-9 && pairs > 0 ? products / pairs / variance : 1;
}


export interface QualityFitOptions {
  /** Share of training images allowed outside each fitted limit before the margin is added. */
  tail: number;
  /** Subtracted from the tail quantile of sharpness (log10 units: 0.6 = a quarter of the Laplacian variance). */
  sharpnessMargin: number;
  /** The texture limit is the tail quantile times this. */
  textureFactor: number;
  /** Subtracted from the tail quantile of smoothness. */
  smoothnessMargin: number;
  /** Added to the clipped-pixel shares. */
  clippingMargin: number;
  /** Added beyond the brightness quantiles (0..255). */
  brightnessMargin: number;
}

export const defaultQualityFit: QualityFitOptions = { tail: 0.005, sharpnessMargin: 0.6, textureFactor: 1.3, smoothnessMargin: 0.2, clippingMargin: 0.1, brightnessMargin: 30 };

/**
 * Limits that the training images themselves pass with room to spare: each is a tail quantile of
 * the training images' measure pushed out by a margin, so only images clearly worse than anything
 * the model learned from are refused.
 */
export function fitQualityLimits(measures: QualityMeasures[], options: QualityFitOptions = defaultQualityFit): QualityLimits {
  const sortedBy = (key: keyof QualityMeasures) => Float64Array.from(measures, (m) => m[key]).sort();
  const sharpness = sortedBy('sharpness');
  const brightness = sortedBy('brightness');
  const { tail } = options;
  return {
    minSharpness: quantile(sharpness, tail) - options.sharpnessMargin,
    maxTexture: quantile(sortedBy('texture'), 1 - tail) * options.textureFactor,
    minSmoothness: quantile(sortedBy('smoothness'), tail) - options.smoothnessMargin,
    maxHighlights: Math.min(1, quantile(sortedBy('highlights'), 1 - tail) + options.clippingMargin),
    maxShadows: Math.min(1, quantile(sortedBy('shadows'), 1 - tail) + options.clippingMargin),
    minBrightness: quantile(brightness, tail) - options.brightnessMargin,
    maxBrightness: quantile(brightness, 1 - tail) + options.brightnessMargin,
  };
}

const percent = (share: number) => `${(share * 100).toFixed(0)}%`;

/** The first problem found, in the order a photographer would fix them; null when the image passes. */
export function checkQuality(m: QualityMeasures, limits: QualityLimits): QualityFinding | null {
  if (m.highlights > limits.maxHighlights || m.brightness > limits.maxBrightness) {
    return {
      problem: 'OVEREXPOSED',
      message: `the image is over-exposed: ${percent(m.highlights)} of it is blown out white and its mean brightness is ${m.brightness.toFixed(0)}/255 (limits ${percent(limits.maxHighlights)}, ${limits.maxBrightness.toFixed(0)})`,
    };
  }
  if (m.shadows > limits.maxShadows || m.brightness < limits.minBrightness) {
    return {
      problem: 'UNDEREXPOSED',
      message: `the image is under-exposed: ${percent(m.shadows)} of it is black and its mean brightness is ${m.brightness.toFixed(0)}/255 (limits ${percent(limits.maxShadows)}, ${limits.minBrightness.toFixed(0)})`,
    };
  }
  if (m.sharpness < limits.minSharpness) {
    return { problem: 'BLURRY', message: `the image is too blurred or featureless to judge (sharpness ${m.sharpness.toFixed(2)}, minimum ${limits.minSharpness.toFixed(2)})` };
  }
  if (m.smoothness < limits.minSmoothness) {
    return {
      problem: 'NOISY',
      message: `the image is dominated by noise or grain: neighbouring pixels hardly agree (smoothness ${m.smoothness.toFixed(2)}, minimum ${limits.minSmoothness.toFixed(2)})`,
    };
  }
  if (m.texture > limits.maxTexture) {
    return {
      problem: 'NOISY',
      message: `the image is covered in fine texture such as noise, grain or print, unlike skin (texture ${m.texture.toFixed(1)}, maximum ${limits.maxTexture.toFixed(1)})`,
    };
  }
  return null;
}
