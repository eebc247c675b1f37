// npm run bench [-- --json --quick --image-size N --batch-size N --architecture NAME]
// Training throughput, single-image latency and batch inference on the active backend.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { tf } from '../ml/tf.js';
import { defaultTrainingParams, type ModelMetadata } from '../ml/types.js';
import { trainModel } from '../ml/train.js';
import type { LabelledImages } from '../ml/dataset.js';
import { buildModel } from '../ml/models/index.js';
import { Classifier } from '../ml/classifier.js';
import { createRng } from '../ml/random.js';
import { sharedDatasetDir } from '../paths.js';
import { startCli, runCli } from './common.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function randomImages(count: number, size: number, seed: number): LabelledImages {
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

/** Steady-state images/s: per-batch rates after the warm-up batches, median. */
async function trainingImagesPerSecond(architecture: string, imageSize: number, batchSize: number, batches: number): Promise<number> {
  const warmUp = 3;
  const images = randomImages(batchSize * (batches + warmUp), imageSize, 1);
  const empty = randomImages(0, imageSize, 2);
  const rates: number[] = [];
  let last = performance.now();
  const result = await trainModel(
    { train: images, validation: empty },
    { ...defaultTrainingParams, architecture, imageSize, batchSize, epochs: 1, augment: true },
    {
      onBatchEnd: (p) => {
        const now = performance.now();
        if (p.batch > warmUp) rates.push(batchSize / ((now - last) / 1000));
        last = now;
      },
    },
  );
  result.model.dispose();
  return median(rates);
}

async function sampleJpeg(): Promise<Buffer> {
  const realDir = path.join(sharedDatasetDir, 'test', 'malignant');
  if (fs.existsSync(realDir)) {
    const first = fs.readdirSync(realDir).find((f) => f.endsWith('.jpg'));
    if (first) return fs.readFileSync(path.join(realDir, first));
  }
  const noise = Buffer.from(randomImages(1, 224, 3).pixels);
  return sharp(noise, { raw: { width: 224, height: 224, channels: 3 } }).jpeg().toBuffer();
}

runCli(async () => {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      'image-size': { type: 'string' },
      'batch-size': { type: 'string' },
      architecture: { type: 'string' },
    },
  });
  const { backend } = await startCli();
  const imageSize = Number(values['image-size'] ?? defaultTrainingParams.imageSize);
  const batchSize = Number(values['batch-size'] ?? defaultTrainingParams.batchSize);
  const architecture = values.architecture ?? defaultTrainingParams.architecture;
  const quick = values.quick;

  const trainImagesPerSec = await trainingImagesPerSecond(architecture, imageSize, batchSize, quick ? 3 : 12);

  const metadata = { version: 'bench', imageSize, threshold: 0.5, classNames: ['benign', 'malignant'] } as ModelMetadata;
  const classifier = new Classifier(buildModel(architecture, { imageSize, seed: 1 }), metadata);
  classifier.warmUp();
  const one = randomImages(1, imageSize, 4).pixels;
  const single: number[] = [];
  for (let i = 0; i < (quick ? 10 : 100); i++) {
    const t = performance.now();
    classifier.predictPixels([one]);
    single.push(performance.now() - t);
  }
  const batch = randomImages(batchSize, imageSize, 5);
  const rows = Array.from({ length: batchSize }, (_, i) => batch.pixels.subarray(i * imageSize * imageSize * 3, (i + 1) * imageSize * imageSize * 3));
  const batchTimes: number[] = [];
  for (let i = 0; i < (quick ? 3 : 15); i++) {
    const t = performance.now();
    classifier.predictPixels(rows);
    batchTimes.push(performance.now() - t);
  }
  const jpeg = await sampleJpeg();
  const endToEnd: number[] = [];
  for (let i = 0; i < (quick ? 10 : 100); i++) {
    const t = performance.now();
    await classifier.classify(jpeg);
    endToEnd.push(performance.now() - t);
  }
  classifier.dispose();

  const report = {
    backend: backend.name,
    threads: backend.threads,
    simd: backend.simd,
    architecture,
    imageSize,
    batchSize,
    trainImagesPerSec: Number(trainImagesPerSec.toFixed(1)),
    inferMsP50: Number(median(single).toFixed(2)),
    inferMsP99: Number(percentile(single, 99).toFixed(2)),
    batchInferImagesPerSec: Number((batchSize / (median(batchTimes) / 1000)).toFixed(1)),
    classifyJpegMsP50: Number(median(endToEnd).toFixed(2)),
    numTensors: tf.memory().numTensors,
    quick,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const line = (name: string, value: string) => process.stdout.write(`${name.padEnd(38)} ${value}\n`);
  process.stdout.write(`\nbenchmark: ${architecture} at ${imageSize}px, batch ${batchSize}, backend ${backend.name} (${backend.threads} thread(s))\n`);
  line('training', `${report.trainImagesPerSec} img/s`);
  line('single-image inference (model only)', `p50 ${report.inferMsP50} ms, p99 ${report.inferMsP99} ms`);
  line(`batch inference (${batchSize})`, `${report.batchInferImagesPerSec} img/s`);
  line('classify one 224px JPEG (decode + model)', `p50 ${report.classifyJpegMsP50} ms`);
});
