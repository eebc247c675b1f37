// npm run bench [-- --json --quick --image-size N --batch-size N --architecture NAME --clients N --skip-api --views all|single]
// Training throughput, single-image latency and batch inference on the active backend (batch
// inference on one one-thread worker per thread, as the server's inference pool runs it), how
// training and batch inference scale from one thread to all of them (TF_THREADS to limit), and
// the GraphQL classify API of a real server process: latency, throughput under load, start-up.
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { tf } from '../ml/tf.js';
import { trainingThreads } from '../ml/backend.js';
import { defaultTrainingParams } from '../ml/types.js';
import { startModuleWorker } from '../util/module-worker.js';
import { startCli, runCli } from './common.js';
import type { Classifier } from '../ml/classifier.js';
import {
  batchInferenceImagesPerSecond,
  batchInferenceRepeats,
  benchClassifier,
  median,
  percentile,
  randomImages,
  roundsFor,
  trainingImagesPerSecond,
  type BenchShape,
} from './bench-measure.js';
import type { SingleThreadReply, SingleThreadRequest } from './bench-single-thread.js';
import { measureApi, sampleJpeg, type ApiFigures } from './bench-api.js';
import { shardRanges } from '../util/shard-ranges.js';

/** The same measurements on one thread, in a worker with its own one-thread backend. */
class SingleThreadProbe {
  private constructor(private readonly worker: Worker) {}

  static async start(shape: BenchShape): Promise<SingleThreadProbe> {
    const probe = new SingleThreadProbe(startModuleWorker(new URL('./bench-single-thread.js', import.meta.url), shape));
    await probe.reply();
    return probe;
  }

  async measure(request: SingleThreadRequest): Promise<number> {
    const answer = this.reply();
    this.worker.postMessage(request);
    return (await answer) as number;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private reply(): Promise<SingleThreadReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the single-thread benchmark worker exited with code ${code}`));
      this.worker.once('error', reject);
      this.worker.once('exit', onExit);
      this.worker.once('message', (message: SingleThreadReply) => {
        this.worker.off('error', reject);
        this.worker.off('exit', onExit);
        resolve(message);
      });
    });
  }
}

interface Scaling {
  imagesPerSec: number;
  singleThread: number;
  /** Median of the per-round ratios. */
  scaling: number;
}

/** Alternates `measure` on all threads and on the probe's one thread, round by round. */
async function alternate(rounds: number, measure: () => Promise<number> | number, single: () => Promise<number>): Promise<Scaling> {
  const many: number[] = [];
  const one: number[] = [];
  for (let r = 0; r < rounds; r++) {
    many.push(await measure());
    one.push(await single());
  }
  return { imagesPerSec: median(many), singleThread: median(one), scaling: median(many.map((m, i) => m / one[i]!)) };
}

/** Training and batch inference on all threads and, alternating with them, on one. */
async function measureScaling(shape: BenchShape, compare: boolean, classifier: Classifier): Promise<{ train: Scaling; infer: Scaling }> {
  const rounds = roundsFor(shape.quick);
  const train = () => trainingImagesPerSecond(shape);
  if (!compare) {
    // With one thread there is nothing to compare: the figures are their own baseline.
    const alone = async (measure: () => Promise<number> | number) => {
      const figures: number[] = [];
      for (let r = 0; r < rounds; r++) figures.push(await measure());
      return { imagesPerSec: median(figures), singleThread: median(figures), scaling: 1 };
    };
    return { train: await alone(train), infer: await alone(() => batchInferenceImagesPerSecond(classifier, shape)) };
  }
  const probe = await SingleThreadProbe.start(shape);
  // Batch inference as the server runs it (inference-pool.ts): the batch split over one
  // one-thread worker per thread, all at once.
  const threads = trainingThreads();
  const shards = shardRanges(shape.batchSize, threads);
  const workers = await Promise.all(shards.map(({ count }) => SingleThreadProbe.start({ ...shape, batchSize: count })));
  await Promise.all(workers.map((w) => w.measure('infer'))); // warm-up: model built, kernels set up
  // Wall clock from the first request to the last answer, so the shards must really run
  // together; each worker runs a round of passes, as the one-thread side does with the whole batch.
  const pooled = async () => {
    const started = performance.now();
    await Promise.all(workers.map((w) => w.measure('infer')));
    return (shape.batchSize * batchInferenceRepeats(shape.quick)) / ((performance.now() - started) / 1000);
  };
  try {
    return {
      train: await alternate(rounds, train, () => probe.measure('train')),
      infer: await alternate(rounds, pooled, () => probe.measure('infer')),
    };
  } finally {
    await Promise.all([probe, ...workers].map((w) => w.close()));
  }
}

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

runCli(async () => {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      'image-size': { type: 'string' },
      'batch-size': { type: 'string' },
      architecture: { type: 'string' },
      clients: { type: 'string', default: '50' },
      'skip-api': { type: 'boolean', default: false },
      views: { type: 'string', default: 'all' },
    },
  });
  const { backend } = await startCli();
  const shape: BenchShape = {
    imageSize: Number(values['image-size'] ?? defaultTrainingParams.imageSize),
    batchSize: Number(values['batch-size'] ?? defaultTrainingParams.batchSize),
    architecture: values.architecture ?? defaultTrainingParams.architecture,
    quick: values.quick,
  };
  const { imageSize, batchSize, architecture, quick } = shape;
  const clients = Number(values.clients);
  if (!Number.isInteger(clients) || clients < 1) throw new Error(`--clients must be a positive integer, got "${values.clients}"`);
  const views = values.views;
  if (views !== 'all' && views !== 'single') throw new Error(`--views must be all or single, got "${views}"`);
  const threads = trainingThreads();
  const loadBefore = os.loadavg();

  const classifier = benchClassifier(shape);
  const { train, infer } = await measureScaling(shape, threads > 1 && backend.name === 'wasm', classifier);

  const one = randomImages(1, imageSize, 4).pixels;
  // The first passes after the scaling measurements run slow (their workers are still going,
  // caches are cold): with ten samples and no warm-up, quick runs reported 3.3-6.4 ms where the
  // forward pass alone measured 2.8-3.0 ms. Warm-up passes and forty samples cost under a second.
  const samples = quick ? 40 : 100;
  for (let i = 0; i < 5; i++) classifier.predictPixels([one]);
  const single: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    classifier.predictPixels([one]);
    single.push(performance.now() - t);
  }
  const jpeg = await sampleJpeg();
  await classifier.classify(jpeg);
  const endToEnd: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await classifier.classify(jpeg);
    endToEnd.push(performance.now() - t);
  }
  classifier.dispose();
  const numTensors = tf.memory().numTensors;
  const api: ApiFigures | null = values['skip-api'] ? null : await measureApi(shape, jpeg, clients, views);
  const loadAfter = os.loadavg();

  const report = {
    backend: backend.name,
    threads,
    backendThreads: backend.threads,
    simd: backend.simd,
    architecture,
    imageSize,
    batchSize,
    trainImagesPerSec: round(train.imagesPerSec),
    trainImagesPerSecSingleThread: round(train.singleThread),
    trainScaling: round(train.scaling, 2),
    inferMsP50: round(median(single), 2),
    inferMsP99: round(percentile(single, 99), 2),
    batchInferImagesPerSec: round(infer.imagesPerSec),
    batchInferImagesPerSecSingleThread: round(infer.singleThread),
    batchInferScaling: round(infer.scaling, 2),
    classifyJpegMsP50: round(median(endToEnd), 2),
    screeningViews: views,
    apiModel: api?.apiModel ?? null,
    apiClassifyMsP50: api ? round(api.apiClassifyMsP50, 2) : null,
    apiClassifyMsP99: api ? round(api.apiClassifyMsP99, 2) : null,
    apiSingleClientImagesPerSec: api ? round(api.apiSingleClientImagesPerSec) : null,
    apiConcurrentClients: api?.apiConcurrentClients ?? null,
    apiImagesPerSec: api ? round(api.apiImagesPerSec) : null,
    apiConcurrentScaling: api ? round(api.apiImagesPerSec / api.apiSingleClientImagesPerSec, 2) : null,
    apiConcurrentMsP50: api ? round(api.apiConcurrentMsP50, 1) : null,
    apiConcurrentMsP99: api ? round(api.apiConcurrentMsP99, 1) : null,
    apiMeanBatch: api ? round(api.apiMeanBatch, 1) : null,
    apiErrors: api?.apiErrors ?? null,
    serverFrom: api?.serverFrom ?? null,
    serverListeningMs: api ? Math.round(api.serverListeningMs) : null,
    serverReadyMs: api ? Math.round(api.serverReadyMs) : null,
    numTensors,
    // Timings on a shared machine mean little without the load they were taken under (1, 5, 15 min).
    loadAverage: { before: loadBefore.map((l) => round(l, 2)), after: loadAfter.map((l) => round(l, 2)) },
    quick,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const line = (name: string, value: string) => process.stdout.write(`${name.padEnd(38)} ${value}\n`);
  process.stdout.write(`\nbenchmark: ${architecture} at ${imageSize}px, batch ${batchSize}, backend ${backend.name}, ${threads} thread(s)\n`);
  line('training', `${report.trainImagesPerSec} img/s (1 thread: ${report.trainImagesPerSecSingleThread}, x${report.trainScaling})`);
  line('single-image inference (model only)', `p50 ${report.inferMsP50} ms, p99 ${report.inferMsP99} ms`);
  line(`batch inference (${batchSize}, ${threads} one-thread workers)`, `${report.batchInferImagesPerSec} img/s (1 thread: ${report.batchInferImagesPerSecSingleThread}, x${report.batchInferScaling})`);
  line('classify one 224px JPEG (decode + model)', `p50 ${report.classifyJpegMsP50} ms`);
  if (api) {
    line('API model', report.apiModel ?? '');
    line('API screening views (SCREENING_VIEWS)', views === 'all' ? 'all: 8 per image, with the probability interval' : 'single: 1 per image, no interval');
    line('API classify, one client at a time', `p50 ${report.apiClassifyMsP50} ms, p99 ${report.apiClassifyMsP99} ms, ${report.apiSingleClientImagesPerSec} img/s`);
    line(`API classify, ${report.apiConcurrentClients} concurrent clients`, `${report.apiImagesPerSec} img/s (x${report.apiConcurrentScaling} one client), p50 ${report.apiConcurrentMsP50} ms, p99 ${report.apiConcurrentMsP99} ms, ${report.apiMeanBatch} images per forward pass, ${report.apiErrors} errors`);
    line(`server start to listening / ready (${report.serverFrom})`, `${report.serverListeningMs} ms / ${report.serverReadyMs} ms`);
  }
  line('load average before / after', `${report.loadAverage.before.join(' ')} / ${report.loadAverage.after.join(' ')}`);
});
