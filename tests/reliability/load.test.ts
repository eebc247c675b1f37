// 50 clients classifying real lesion photos back to back, in repeated rounds, while a training run
// is in progress on the same server. Every request must succeed; tensors, heap and RSS must stay
// flat from round to round; the event loop's delay is measured. The clients run in their own
// process (tests/fixtures/load-client.ts) so only the server's work counts against its loop.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { repoRoot } from '../../server/paths.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';
import { gqlUpload, startTestApp, tempDir, trainThroughService, type TestApp } from '../api/helpers.js';
import type { LoadReport } from '../fixtures/load-client.js';

const CLIENTS = 50;
const ROUNDS = 3;
const ROUND_MS = 4_000;

const realDataset = path.resolve(repoRoot, '../shared/datasets/skin-lesions');
const hasRealDataset = fs.existsSync(path.join(realDataset, 'test'));

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

let root: string;
let toy: ToyDataset;
let app: TestApp;
let imagesFile: string;
let imageSource = '';

function firstImages(dir: string, perClass: number): string[] {
  return ['benign', 'malignant'].flatMap((label) =>
    fs
      .readdirSync(path.join(dir, label))
      .filter((name) => /\.(jpe?g|png)$/i.test(name))
      .sort()
      .slice(0, perClass)
      .map((name) => path.join(dir, label, name)),
  );
}

/** A small training folder: real photos when the dataset is there (the served model's input guard then knows what lesions look like), else synthetic ones. */
async function trainingFolder(): Promise<string> {
  const dir = path.join(root, 'data');
  if (!hasRealDataset) {
    console.warn(`load test: ${realDataset} is absent, training on and sending synthetic lesion images instead`);
    toy = await createToyDataset({ root: dir, splits: { train: 12 }, size: 64, seed: 17 });
    return toy.root;
  }
  for (const file of firstImages(path.join(realDataset, 'train'), 12)) {
    const target = path.join(dir, 'train', path.basename(path.dirname(file)), path.basename(file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(file, target);
  }
  return dir;
}

const CLASSIFY = 'mutation ($f: Upload!) { classify(image: $f) { probability } }';

/** The candidates the served model classifies (its input guard may refuse some as unsuitable). */
async function acceptedImages(candidates: string[]): Promise<string[]> {
  const accepted: string[] = [];
  const refused: Record<string, number> = {};
  for (const file of candidates) {
    const response = await gqlUpload(app.url, CLASSIFY, { f: null }, { 'variables.f': { bytes: fs.readFileSync(file), name: path.basename(file) } });
    if (!response.errors) accepted.push(file);
    else {
      const key = [response.errors[0]!.extensions?.code, response.errors[0]!.extensions?.reason].filter(Boolean).join('/');
      refused[key] = (refused[key] ?? 0) + 1;
    }
  }
  imageSource = `${accepted.length} ${hasRealDataset ? 'real dermoscopic photos' : 'synthetic lesion JPEGs'} (of ${candidates.length} tried; refused: ${JSON.stringify(refused)})`;
  return accepted;
}

async function runClients(durationMs: number): Promise<LoadReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'tests/fixtures/load-client.ts'), app.url, String(CLIENTS), String(durationMs), imagesFile],
    { cwd: repoRoot, timeout: durationMs + 120_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadReport;
}

interface Round {
  report: LoadReport;
  rssMb: number;
  heapMb: number;
  buffersMb: number;
  tensors: number;
  loopDelayMs: { p50: number; p99: number; max: number };
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

async function settledMemory(): Promise<{ rssMb: number; heapMb: number; buffersMb: number; tensors: number }> {
  // Buffers are freed by finalizers after a collection: collect, let them run, collect again.
  collectGarbage();
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
  // Tensors live in the inference thread; this thread should hold none for requests either.
  const inference = await app.services.models.inferenceMemory();
  return { rssMb: mb(rss), heapMb: mb(heapUsed), buffersMb: mb(arrayBuffers), tensors: inference.numTensors + tf.memory().numTensors };
}

beforeAll(async () => {
  root = await tempDir('load-');
  const dataDir = await trainingFolder();
  app = await startTestApp({ dataDir, modelsDir: path.join(root, 'models'), storeFile: path.join(root, 'runs.sqlite') });
  // A small input keeps each forward pass cheap: this test is about robustness, `npm run bench` about speed.
  await trainThroughService(app, { imageSize: 32, epochs: 1, augment: false });
  expect(app.services.models.status().ready).toBe(true);
  const candidates = hasRealDataset ? firstImages(path.join(realDataset, 'test'), 20) : toy.files.map((f) => f.path);
  const images = await acceptedImages(candidates);
  expect(images.length, imageSource).toBeGreaterThan(0);
  imagesFile = path.join(root, 'images.json');
  fs.writeFileSync(imagesFile, JSON.stringify(images));
});

afterAll(async () => {
  await app?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('load while training', () => {
  // Each round stops sending at its deadline, then waits for the answers still in flight: on a
  // busy machine those can take many seconds, hence the generous timeout.
  it(`${CLIENTS} clients for ${ROUNDS} rounds of ${ROUND_MS / 1000} s: no failures, flat memory, event-loop delay measured`, { timeout: 300_000 }, async () => {
    // A long run, cancelled at the end: it trains in its worker thread throughout the load.
    // The served model is the default architecture; the run in the background only has to keep training.
    const run = await app.services.training.start({ architecture: 'original-cnn', imageSize: 32, epochs: 500, batchSize: 4, augment: false, seed: 3 }, 'api');
    const started = Date.now();
    while ((app.services.runs.get(run.id)?.epochs.length ?? 0) < 1) {
      if (Date.now() - started > 90_000) throw new Error('the training run recorded no epoch');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const epochsBefore = app.services.runs.get(run.id)!.epochs.length;

    // The images were each classified once already (to pick them): the model is warm.
    const baseline = await settledMemory();

    const rounds: Round[] = [];
    const loop = monitorEventLoopDelay({ resolution: 10 });
    for (let i = 0; i < ROUNDS; i++) {
      loop.reset();
      loop.enable();
      const report = await runClients(ROUND_MS);
      loop.disable();
      const ms = (ns: number) => Math.round(ns / 1e5) / 10;
      rounds.push({ report, ...(await settledMemory()), loopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) } });
    }

    const epochsAfter = app.services.runs.get(run.id)!.epochs.length;
    expect(app.services.runs.get(run.id)!.status).toBe('running');
    app.services.training.cancel(run.id);
    await app.services.training.whenIdle();

    const table = rounds.map(
      (r, i) =>
        `round ${i + 1}: ${r.report.requests} requests (${r.report.requestsPerSecond}/s), ${r.report.failed} failed, latency p50 ${r.report.latencyMs.p50} ms p99 ${r.report.latencyMs.p99} ms max ${r.report.latencyMs.max} ms; ` +
        `RSS ${r.rssMb} MB, heap ${r.heapMb} MB, buffers ${r.buffersMb} MB, tensors ${r.tensors}; event-loop delay p50 ${r.loopDelayMs.p50} ms p99 ${r.loopDelayMs.p99} ms max ${r.loopDelayMs.max} ms`,
    );
    console.log(
      [
        `load test: ${CLIENTS} concurrent clients sending ${imageSource}, while training run ${run.id} progressed from ${epochsBefore} to ${epochsAfter} epochs`,
        `before the rounds: RSS ${baseline.rssMb} MB, heap ${baseline.heapMb} MB, buffers ${baseline.buffersMb} MB, tensors ${baseline.tensors}`,
        ...table,
      ].join('\n'),
    );

    for (const round of rounds) {
      expect(round.report.requests).toBeGreaterThan(0);
      expect(round.report.failed, JSON.stringify(round.report.failures)).toBe(0);
      // Every request's tensors are released: the count returns to where it was.
      expect(round.tensors).toBe(baseline.tensors);
    }
    // Flat from round to round: a leak of even a few kB per request would grow by tens of MB here.
    const first = rounds[0]!;
    const last = rounds.at(-1)!;
    expect(last.heapMb - first.heapMb).toBeLessThan(20);
    // Uploads and decoded pixels live in Buffers, outside the heap.
    expect(last.buffersMb - first.buffersMb).toBeLessThan(10);
    expect(last.rssMb - first.rssMb).toBeLessThan(Math.max(64, first.rssMb * 0.15));
    // Training kept going in its own thread while the server answered.
    expect(epochsAfter).toBeGreaterThan(epochsBefore);
    // Forward passes run in the inference thread and training in its own: what is left on the
    // event loop (parsing uploads, the guard's checks, JSON) never holds it for long.
    for (const round of rounds) {
      expect(round.loopDelayMs.p99).toBeLessThan(250);
      expect(round.loopDelayMs.max).toBeLessThan(1000);
    }
    expect(app.services.models.inferenceRestarts()).toBe(0);
  });
});
