// Fits the input guard of a freshly trained model: quality limits and the two densities from the
// training images; the distance limits from distances of images each density has not seen (the
// validation images, and the training images by cross-fitting), so that the limits reflect new
// images rather than ones the density or the network has memorised.
import type { tf } from '../tf.js';
import type { LabelledImages } from '../dataset.js';
import { pixelsToTensor } from '../preprocess.js';
import { embed } from '../model-anatomy.js';
import { fitQualityLimits, measureQuality, checkQuality } from './image-quality.js';
import { quantile } from './order-statistics.js';
import { describeAppearance } from './appearance.js';
import { embeddingDistance, fitEmbeddingDensity, type EmbeddingDensity } from './ood.js';
import { INPUT_GUARD_FORMAT, type DistanceLimit, type InputGuardData } from './guard-data.js';

export interface GuardFitOptions {
  /**
   * Each distance limit starts at this quantile of the out-of-sample distances (or, when higher,
   * at the 99.9th percentile of a log-normal fitted to them: with few images the empirical
   * quantile is just the largest one seen)...
   */
  quantile: number;
  /** ...times this margin. */
  margin: number;
  /** Folds for cross-fitting the density on the training images. */
  folds: number;
  /** Principal directions of each density. */
  components: number;
  batchSize: number;
}

export const defaultGuardFit: GuardFitOptions = { quantile: 0.99, margin: 1.25, folds: 5, components: 16, batchSize: 64 };

interface Rows {
  rows: Float32Array;
  dim: number;
}

function imageOf(images: LabelledImages, i: number): Uint8Array {
  const stride = images.size * images.size * 3;
  return images.pixels.subarray(i * stride, (i + 1) * stride);
}

/** Penultimate embeddings of every image of `images`, row-major. */
export function embedImages(model: tf.LayersModel, images: LabelledImages, batchSize: number): Rows {
  let rows = new Float32Array(0);
  let dim = 0;
  for (let start = 0; start < images.count; start += batchSize) {
    const end = Math.min(images.count, start + batchSize);
    const x = pixelsToTensor(Array.from({ length: end - start }, (_, i) => imageOf(images, start + i)), images.size);
    try {
      const out = embed(model, x);
      if (dim === 0) {
        dim = out.dim;
        rows = new Float32Array(images.count * dim);
      }
      rows.set(out.values, start * dim);
    } finally {
      x.dispose();
    }
  }
  return { rows, dim };
}

function describeImages(images: LabelledImages): Rows {
  const described = Array.from({ length: images.count }, (_, i) => describeAppearance(imageOf(images, i), images.size));
  const dim = described[0]?.length ?? 0;
  const rows = new Float32Array(images.count * dim);
  described.forEach((d, i) => rows.set(d, i * dim));
  return { rows, dim };
}

function distances(density: EmbeddingDensity, { rows, dim }: Rows, which: number[]): number[] {
  return which.map((i) => embeddingDistance(density, rows.subarray(i * dim, (i + 1) * dim)));
}

function pick({ rows, dim }: Rows, which: number[]): Rows {
  const picked = new Float32Array(which.length * dim);
  which.forEach((i, k) => picked.set(rows.subarray(i * dim, (i + 1) * dim), k * dim));
  return { rows: picked, dim };
}

/** Distances of every fitting image from a density fitted without its fold, plus every held-out image's from the full density. */
function outOfSampleDistances(fitted: Rows, heldOut: Rows, density: EmbeddingDensity, o: GuardFitOptions): number[] {
  const n = fitted.rows.length / fitted.dim;
  const result = distances(density, heldOut, Array.from({ length: heldOut.rows.length / heldOut.dim }, (_, i) => i));
  const folds = Math.min(o.folds, n);
  // Fewer than three images per fold fit no density worth the name: held-out images only.
  if (folds < 2 || n - Math.ceil(n / folds) < 3) return result.length > 0 ? result : distances(density, fitted, Array.from({ length: n }, (_, i) => i));
  for (let f = 0; f < folds; f++) {
    const inFold = Array.from({ length: n }, (_, i) => i).filter((i) => i % folds === f);
    const rest = Array.from({ length: n }, (_, i) => i).filter((i) => i % folds !== f);
    result.push(...distances(fitEmbeddingDensity(pick(fitted, rest).rows, fitted.dim, o.components), fitted, inFold));
  }
  return result;
}

function limitFrom(sample: number[], o: GuardFitOptions): number {
  const sorted = Float64Array.from(sample).sort();
  const logs = sample.map((d) => Math.log(Math.max(d, 1e-9)));
  const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, logs.length - 1));
  const logNormal999 = Math.exp(mean + 3.09 * sd);
  return Math.max(quantile(sorted, o.quantile), logNormal999) * o.margin;
}

function fitLimit(fitted: Rows, heldOut: Rows, o: GuardFitOptions): DistanceLimit {
  const density = fitEmbeddingDensity(fitted.rows, fitted.dim, o.components);
  return { density, maxDistance: limitFrom(outOfSampleDistances(fitted, heldOut, density, o), o) };
}

/**
 * `fitted` supplies the densities and quality limits; `heldOut` (may be empty) joins the
 * distance limits. Throws RangeError with fewer than two fitting images.
 */
export function fitInputGuard(model: tf.LayersModel, fitted: LabelledImages, heldOut: LabelledImages, options: Partial<GuardFitOptions> = {}): InputGuardData {
  const o = { ...defaultGuardFit, ...options };
  const measuresOf = (images: LabelledImages) => Array.from({ length: images.count }, (_, i) => measureQuality(imageOf(images, i), images.size));
  const quality = fitQualityLimits([...measuresOf(fitted), ...measuresOf(heldOut)]);
  const embeddings = { fitted: embedImages(model, fitted, o.batchSize), heldOut: embedImages(model, heldOut, o.batchSize) };
  const looks = { fitted: describeImages(fitted), heldOut: describeImages(heldOut) };
  const embedding = fitLimit(embeddings.fitted, { ...embeddings.heldOut, dim: embeddings.fitted.dim }, o);
  const appearance = fitLimit(looks.fitted, { ...looks.heldOut, dim: looks.fitted.dim }, o);

  // How many images of the held-out set (else of the fitting set) the finished guard lets through.
  const [checked, checkedEmbeddings, checkedLooks] = heldOut.count > 0 ? [heldOut, embeddings.heldOut, looks.heldOut] : [fitted, embeddings.fitted, looks.fitted];
  const all = Array.from({ length: checked.count }, (_, i) => i);
  const embeddingDistances = distances(embedding.density, { ...checkedEmbeddings, dim: embeddings.fitted.dim }, all);
  const appearanceDistances = distances(appearance.density, { ...checkedLooks, dim: looks.fitted.dim }, all);
  const passing = measuresOf(checked).filter(
    (m, i) => checkQuality(m, quality) === null && embeddingDistances[i]! <= embedding.maxDistance && appearanceDistances[i]! <= appearance.maxDistance,
  ).length;
  return {
    format: INPUT_GUARD_FORMAT,
    quality,
    minSide: Math.ceil(fitted.size / 2),
    embedding,
    appearance,
    fit: { fittedOn: fitted.count, heldOut: heldOut.count, quantile: o.quantile, margin: o.margin, heldOutPassRate: passing / Math.max(1, checked.count) },
  };
}

/** `fitInputGuard` for a training run: a failure to fit leaves the version unguarded rather than failing the run. */
export function tryFitInputGuard(model: tf.LayersModel, fitted: LabelledImages, heldOut: LabelledImages): { data: InputGuardData | null; message: string } {
  try {
    const data = fitInputGuard(model, fitted, heldOut);
    const passRate = (data.fit.heldOutPassRate * 100).toFixed(1);
    return {
      data,
      message: `input guard fitted: ${passRate}% of ${data.fit.heldOut || data.fit.fittedOn} held-out images pass (distance limits: embedding ${data.embedding.maxDistance.toFixed(2)}, appearance ${data.appearance.maxDistance.toFixed(2)})`,
    };
  } catch (error) {
    return { data: null, message: `input guard not fitted, the version will not check its inputs: ${error instanceof Error ? error.message : String(error)}` };
  }
}
