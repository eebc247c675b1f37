// What `npm run bench` measures, shared by the benchmark and its single-thread probe worker.
import type { LabelledImages } from '../ml/dataset.js';
import { trainModel } from '../ml/train.js';
import { buildModel } from '../ml/models/index.js';
import { Classifier } from '../ml/classifier.js';
import { createRng } from '../ml/random.js';
import { defaultTrainingParams, type ModelMetadata } from '../ml/types.js';

export interface BenchShape {
  architecture: string;
  imageSize: number;
  batchSize: number;
  quick: boolean;
}

/**
 * The N-thread and one-thread figures are measured in alternating rounds, so that a machine
 * whose speed drifts (shared hosts do) slows both sides alike; each round is short.
 */
export function roundsFor(quick: boolean): number {
  return quick ? 1 : 5;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function randomImages(count: number, size: number, seed: number): LabelledImages {
  const rng = createRng(seed);
  const pixels = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(rng.next() * 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 2);
  return {
    size,
    count,
    pixels,
    labels,
    files: Array.from(labels, (_, i) => `synthetic-${i}`),
    classNames: ['benign', 'malignant'],
    skipped: [],
    contentHashes: [],
  };
}

/**
 * Batches run before the timed ones of a round. Each round's data-parallel engine starts new
 * replica workers, whose steps keep getting faster for ~10-15 batches (at 64 px batches 4-7 took
 * ~80 ms and batches 20-33 ~70; at 96 px ~5 % apart), while the one-thread side's worker lives
 * across rounds and is warm after the first; a training run is thousands of batches, so both
 * sides are timed warm.
 */
const TRAINING_WARM_UP_BATCHES = 12;

/** Steady-state training images/s of one round: per-batch rates after the warm-up batches, median. */
export async function trainingImagesPerSecond({ architecture, imageSize, batchSize, quick }: BenchShape, threads?: number): Promise<number> {
  const batches = quick ? 3 : 4;
  const images = randomImages(batchSize * (batches + TRAINING_WARM_UP_BATCHES), imageSize, 1);
  const empty = randomImages(0, imageSize, 2);
  const rates: number[] = [];
  let last = performance.now();
  const result = await trainModel(
    { train: images, validation: empty },
    { ...defaultTrainingParams, architecture, imageSize, batchSize, epochs: 1, augment: true },
    {
      onBatchEnd: (p) => {
        const now = performance.now();
        if (p.batch > TRAINING_WARM_UP_BATCHES) rates.push(batchSize / ((now - last) / 1000));
        last = now;
      },
    },
    undefined,
    { threads },
  );
  result.model.dispose();
  return median(rates);
}

export function benchClassifier({ architecture, imageSize }: BenchShape): Classifier {
  const metadata = { version: 'bench', imageSize, threshold: 0.5, classNames: ['benign', 'malignant'] } as ModelMetadata;
  const classifier = new Classifier(buildModel(architecture, { imageSize, seed: 1 }), metadata);
  classifier.warmUp();
  return classifier;
}

/** Forward passes per round of batchInferenceImagesPerSecond. */
export function batchInferenceRepeats(quick: boolean): number {
  return quick ? 9 : 15;
}

/** The batch batchInferenceImagesPerSecond classifies, made once per shape (making it takes a few ms). */
const inferenceBatches = new Map<string, Uint8Array[]>();

function inferenceBatch(imageSize: number, batchSize: number): Uint8Array[] {
  const key = `${imageSize}x${batchSize}`;
  let rows = inferenceBatches.get(key);
  if (!rows) {
    const batch = randomImages(batchSize, imageSize, 5);
    const stride = imageSize * imageSize * 3;
    rows = Array.from({ length: batchSize }, (_, i) => batch.pixels.subarray(i * stride, (i + 1) * stride));
    inferenceBatches.set(key, rows);
  }
  return rows;
}

/**
 * Images/s of one round of forward passes over a whole batch, by the wall clock: the pooled
 * figure (several workers at once) can only be taken that way, so the one-thread figure is too
 * (a median of pass times would leave out the slow passes that the pooled wall clock counts).
 */
export function batchInferenceImagesPerSecond(classifier: Classifier, { imageSize, batchSize, quick }: BenchShape): number {
  const rows = inferenceBatch(imageSize, batchSize);
  const passes = batchInferenceRepeats(quick);
  const started = performance.now();
  for (let i = 0; i < passes; i++) classifier.predictPixels(rows);
  return (batchSize * passes) / ((performance.now() - started) / 1000);
}
