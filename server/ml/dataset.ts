// ImageFolder data: <split>/<class>/<image>. Decodes every image once into a compact uint8
// cache; batches are built from it on demand, so float32 copies exist only one batch at a time.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import { tf, type Tensor2D, type Tensor4D } from './tf.js';
import { decodeImage, copyInto, type ImageLimits } from './preprocess.js';
import { augmentInto, defaultAugmentOptions, type AugmentOptions } from './augment.js';
import type { Rng } from './random.js';
import type { DatasetFingerprint } from './types.js';

export { DatasetError, isImageFileName, listImageFolder } from './image-folder.js';
export type { DatasetErrorCode, ImageFile } from './image-folder.js';
import { byCodePoint, DatasetError, listImageFolder } from './image-folder.js';

export interface LabelledImages {
  size: number;
  count: number;
  /** count * size * size * 3 bytes: image i is row i, RGB, row-major. */
  pixels: Uint8Array;
  /** 1 = positive (cancerous) class, 0 = negative. */
  labels: Uint8Array;
  files: string[];
  /** Index 0 is the negative class, index 1 the positive one. */
  classNames: [string, string];
  /** Files that could not be used, with why; loading goes on without them. */
  skipped: { file: string; reason: string }[];
  /** sha256 (hex) of each file's bytes, in the order of `files`. */
  contentHashes: string[];
}

export interface LoadOptions {
  imageSize: number;
  /** Name of the cancerous class when it is not recognisable by name. */
  positiveClass?: string;
  limits?: Partial<ImageLimits>;
  /** Files decoded at once (default 2 x cores). */
  concurrency?: number;
  /** Called as files finish: about every 1 % and always at the end. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

const POSITIVE_CLASS_NAMES = ['malignant', 'cancerous', 'cancer', 'melanoma', 'carcinoma', 'positive'];

/** Orders two class names as [negative, positive], recognising the cancerous one by name. */
export function resolveBinaryClasses(classNames: string[], positiveClass?: string): [negative: string, positive: string] {
  if (classNames.length !== 2) {
    throw new DatasetError(
      'WRONG_CLASS_COUNT',
      `exactly two class folders are needed (a benign and a cancerous one), found ${classNames.length}: ${classNames.join(', ') || 'none'}`,
    );
  }
  let positive: string[];
  if (positiveClass !== undefined) {
    positive = classNames.filter((name) => name === positiveClass);
    if (positive.length === 0) positive = classNames.filter((name) => name.toLowerCase() === positiveClass.toLowerCase());
    if (positive.length === 0) {
      throw new DatasetError('UNKNOWN_POSITIVE_CLASS', `positive class "${positiveClass}" is not one of ${classNames.join(', ')}`);
    }
  } else {
    positive = classNames.filter((name) => POSITIVE_CLASS_NAMES.includes(name.toLowerCase()));
    if (positive.length === 0) {
      throw new DatasetError(
        'NO_POSITIVE_CLASS',
        `cannot tell which of ${classNames.join(', ')} is the cancerous class: name it (${POSITIVE_CLASS_NAMES.join(', ')}) or pass positiveClass`,
      );
    }
  }
  if (positive.length !== 1) {
    throw new DatasetError('AMBIGUOUS_POSITIVE_CLASS', `both ${classNames.join(' and ')} look like the cancerous class: pass positiveClass`);
  }
  const negative = classNames.find((name) => name !== positive[0]);
  return [negative!, positive[0]];
}

function defaultConcurrency(): number {
  return 2 * os.availableParallelism();
}

/** Runs `work(i)` for i in [0, total) with at most `limit` in flight. */
async function forEachBounded(total: number, limit: number, work: (index: number) => Promise<void>): Promise<void> {
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < total) await work(nextIndex++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, total) }, worker));
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * Decodes a split folder at `imageSize`. Unreadable images are skipped and listed in `skipped`;
 * a folder without exactly two recognisable classes is an error.
 */
export async function loadImageFolder(splitDir: string, options: LoadOptions): Promise<LabelledImages> {
  const { imageSize, limits, onProgress, signal } = options;
  if (!Number.isInteger(imageSize) || imageSize < 1) throw new RangeError(`imageSize must be a positive integer, got ${imageSize}`);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? defaultConcurrency()));
  const listing = await listImageFolder(splitDir);
  const classNames = resolveBinaryClasses(listing.classNames, options.positiveClass);
  const { files } = listing;
  const total = files.length;
  const stride = imageSize * imageSize * 3;

  // Written in place by index so the result order does not depend on which decode finishes first.
  const pixels = new Uint8Array(total * stride);
  const loaded = new Uint8Array(total);
  const hashes = new Array<string>(total);
  const failures = new Array<string | undefined>(total);
  const progressEvery = Math.max(1, Math.floor(total / 100));
  let done = 0;

  await forEachBounded(total, concurrency, async (i) => {
    signal?.throwIfAborted();
    try {
      const bytes = await fs.readFile(files[i].path);
      hashes[i] = createHash('sha256').update(bytes).digest('hex');
      const decoded = await decodeImage(bytes, imageSize, limits);
      pixels.set(decoded.pixels, i * stride);
      loaded[i] = 1;
    } catch (error) {
      failures[i] = describeFailure(error);
    }
    done++;
    if (onProgress && (done % progressEvery === 0 || done === total)) onProgress(done, total);
  });
  if (total === 0) onProgress?.(0, 0);

  // Close the gaps left by skipped files, keeping order.
  const kept: number[] = [];
  const skipped: LabelledImages['skipped'] = [];
  for (let i = 0; i < total; i++) {
    if (loaded[i]) {
      if (kept.length !== i) pixels.copyWithin(kept.length * stride, i * stride, (i + 1) * stride);
      kept.push(i);
    } else {
      skipped.push({ file: files[i].path, reason: failures[i] ?? 'unknown failure' });
    }
  }
  return {
    size: imageSize,
    count: kept.length,
    pixels: kept.length === total ? pixels : pixels.slice(0, kept.length * stride),
    labels: Uint8Array.from(kept, (i) => (files[i].className === classNames[1] ? 1 : 0)),
    files: kept.map((i) => files[i].path),
    classNames,
    skipped,
    contentHashes: kept.map((i) => hashes[i]),
  };
}

function checkIndices(images: LabelledImages, indices: number[]): void {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= images.count) throw new RangeError(`image index ${i} is outside 0..${images.count - 1}`);
  }
}

/** A new image set holding copies of the given rows, in the given order. */
export function subset(images: LabelledImages, indices: number[]): LabelledImages {
  checkIndices(images, indices);
  const stride = images.size * images.size * 3;
  const pixels = new Uint8Array(indices.length * stride);
  indices.forEach((source, row) => pixels.set(images.pixels.subarray(source * stride, (source + 1) * stride), row * stride));
  return {
    size: images.size,
    count: indices.length,
    pixels,
    labels: Uint8Array.from(indices, (i) => images.labels[i]),
    files: indices.map((i) => images.files[i]),
    classNames: [...images.classNames],
    skipped: [...images.skipped],
    contentHashes: indices.map((i) => images.contentHashes[i]),
  };
}

export interface BatchOptions {
  augment: boolean;
  /** Required when `augment` is true. */
  rng?: Rng;
  augmentOptions?: Partial<AugmentOptions>;
}

/** A batch as plain arrays: `count` rows of size x size x 3 values in [0, 1], targets 0 or 1. */
export interface BatchArrays {
  size: number;
  count: number;
  x: Float32Array;
  y: Float32Array;
}

/** The rows `indices` of `images`, augmented when asked, as model-ready arrays. */
export function batchArrays(images: LabelledImages, indices: number[], options: BatchOptions): BatchArrays {
  checkIndices(images, indices);
  if (options.augment && !options.rng) throw new RangeError('a batch with augmentation needs an rng');
  const { size } = images;
  const stride = size * size * 3;
  const augmentOptions = { ...defaultAugmentOptions, ...options.augmentOptions };
  const x = new Float32Array(indices.length * stride);
  const y = new Float32Array(indices.length);
  indices.forEach((source, row) => {
    const pixels = images.pixels.subarray(source * stride, (source + 1) * stride);
    if (options.augment) augmentInto(pixels, size, x, row * stride, options.rng!, augmentOptions);
    else copyInto(pixels, x, row * stride);
    y[row] = images.labels[source];
  });
  return { size, count: indices.length, x, y };
}

/** Model input [n, size, size, 3] in [0, 1] and targets [n, 1] (1 = positive). Caller disposes both. */
export function makeBatch(images: LabelledImages, indices: number[], options: BatchOptions): { x: Tensor4D; y: Tensor2D } {
  return batchTensors(batchArrays(images, indices, options));
}

/** The tensors of a batch: [n, size, size, 3] and [n, 1]. Caller disposes both. */
export function batchTensors({ size, count, x, y }: BatchArrays): { x: Tensor4D; y: Tensor2D } {
  return { x: tf.tensor4d(x, [count, size, size, 3], 'float32'), y: tf.tensor2d(y, [count, 1], 'float32') };
}

/**
 * Counts per split and class, one hash that changes when any image or label changes, and the
 * manifest behind it (the sorted content hashes per split and class), so two versions' data can
 * be compared image by image.
 */
export function datasetFingerprint(splits: Record<string, LabelledImages>): DatasetFingerprint {
  const counts: DatasetFingerprint['counts'] = {};
  const images: NonNullable<DatasetFingerprint['images']> = {};
  const triples: string[] = [];
  for (const [split, set] of Object.entries(splits)) {
    const perClass: Record<string, number> = { [set.classNames[0]]: 0, [set.classNames[1]]: 0 };
    const hashes: Record<string, string[]> = { [set.classNames[0]]: [], [set.classNames[1]]: [] };
    for (let i = 0; i < set.count; i++) {
      const className = set.classNames[set.labels[i]];
      perClass[className]++;
      hashes[className].push(set.contentHashes[i] ?? '');
      triples.push(JSON.stringify([split, className, set.contentHashes[i] ?? '']));
    }
    counts[split] = perClass;
    for (const list of Object.values(hashes)) list.sort(byCodePoint);
    images[split] = hashes;
  }
  // Sorted so file names and load order do not matter: only content and labels do.
  triples.sort(byCodePoint);
  const hash = createHash('sha256');
  for (const triple of triples) hash.update(triple).update('\n');
  return { hash: hash.digest('hex'), counts, images };
}
