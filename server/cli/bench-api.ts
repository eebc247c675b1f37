// The API half of `npm run bench`: the real server (server/start.cts) as a child process, serving a
// model of the benchmarked architecture and size, classifying one 224x224 JPEG per GraphQL
// multipart request over loopback - from one client at a time, then from many at once - and how
// long it takes from process start to ready (model loaded and warmed). The server runs compiled,
// as `npm start` runs it (the benchmark compiles it first).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { buildModel } from '../ml/models/index.js';
import type { LayersModel } from '../ml/tf.js';
import { defaultTrainingParams, type ModelMetadata } from '../ml/types.js';
import { ModelRegistry, MODEL_FORMAT } from '../registry/model-registry.js';
import sharp from 'sharp';
import { repoRoot, sharedDatasetDir } from '../paths.js';
import { median, percentile, randomImages, type BenchShape } from './bench-measure.js';
import { loadPlan, manyClients, multipartUpload, oneClient, request, type Answer } from './bench-load.js';

export interface ApiFigures {
  /** Which model the server classified with: the shipped default (with its input guard) or a fresh one. */
  apiModel: string;
  /** `compiled`: dist/, as `npm start` runs it; `source`: under tsx, when compiling failed. */
  serverFrom: 'compiled' | 'source';
  /** Process start to the first HTTP answer. */
  serverListeningMs: number;
  /** Process start to /readyz 200: model loaded and warmed. */
  serverReadyMs: number;
  apiClassifyMsP50: number;
  apiClassifyMsP99: number;
  apiSingleClientImagesPerSec: number;
  apiConcurrentClients: number;
  apiImagesPerSec: number;
  apiConcurrentMsP50: number;
  apiConcurrentMsP99: number;
  /** Images per forward pass under concurrent load (from /metrics). */
  apiMeanBatch: number;
  /** Requests answered with an error or a non-200 status (none expected). */
  apiErrors: number;
}

const CLASSIFY = 'mutation Classify($image: Upload!) { classify(image: $image) { probability label } }';

/** The shipped default (repo's models/ active version) when it has the benchmarked shape, else null. */
async function shippedModel(shape: BenchShape): Promise<{ model: LayersModel; metadata: ModelMetadata } | null> {
  try {
    const registry = await ModelRegistry.open(path.join(repoRoot, 'models'));
    const active = await registry.activeVersion();
    if (!active) return null;
    const loaded = await registry.load(active);
    const { architecture, imageSize } = loaded.metadata;
    if (architecture === shape.architecture && imageSize === shape.imageSize) return loaded;
    loaded.model.dispose();
  } catch {
    // No readable shipped model: measure a fresh one.
  }
  return null;
}

/**
 * A models folder whose active version is what the server will serve: the shipped default when
 * it has the benchmarked shape (its input guard, views and threshold cost time on every request),
 * else a fresh model of that shape, which has no guard data (the guard's checks are then skipped).
 */
export async function benchModelsDir(shape: BenchShape, root: string): Promise<{ dir: string; served: string }> {
  const dir = path.join(root, 'models');
  const registry = await ModelRegistry.open(dir);
  const shipped = await shippedModel(shape);
  const model = shipped?.model ?? buildModel(shape.architecture, { imageSize: shape.imageSize, seed: 1 });
  try {
    if (shipped) {
      const { version, createdAt, ...metadata } = shipped.metadata;
      await registry.promote((await registry.save(model, metadata)).version);
      return { dir, served: `shipped ${version}${metadata.inputGuard ? ', input guard on' : ''}` };
    }
    const saved = await registry.save(model, {
      format: MODEL_FORMAT,
      architecture: shape.architecture,
      imageSize: shape.imageSize,
      classNames: ['benign', 'malignant'],
      positiveClass: 'malignant',
      threshold: 0.5,
      metrics: {},
      trainingParams: { ...defaultTrainingParams, architecture: shape.architecture, imageSize: shape.imageSize, epochs: 0 },
      backend: 'bench',
      trainingSeconds: 0,
      epochsCompleted: 0,
    });
    await registry.promote(saved.version);
    return { dir, served: 'fresh, no input guard' };
  } finally {
    model.dispose();
  }
}

/** A real 224x224 dermoscopic JPEG from the shared set when it is there, else noise of that size. */
export async function sampleJpeg(): Promise<Buffer> {
  const realDir = path.join(sharedDatasetDir, 'test', 'malignant');
  const first = existsSync(realDir) ? (await fs.readdir(realDir)).find((f) => f.endsWith('.jpg')) : undefined;
  if (first) return fs.readFile(path.join(realDir, first));
  const noise = Buffer.from(randomImages(1, 224, 3).pixels);
  return sharp(noise, { raw: { width: 224, height: 224, channels: 3 } }).jpeg().toBuffer();
}

/** One GraphQL multipart classify request, built once. */
export function classifyRequest(jpeg: Buffer): { headers: http.OutgoingHttpHeaders; body: Buffer } {
  const operations = JSON.stringify({ query: CLASSIFY, variables: { image: null } });
  const { headers, body } = multipartUpload({ operations, map: JSON.stringify({ 0: ['variables.image'] }) }, { field: '0', bytes: jpeg });
  return { headers: { ...headers, 'apollo-require-preflight': 'true' }, body };
}

export function answeredWell(answer: Answer): boolean {
  if (answer.status !== 200) return false;
  try {
    const parsed = JSON.parse(answer.body) as { data?: { classify?: { probability?: unknown } }; errors?: unknown };
    return parsed.errors === undefined && typeof parsed.data?.classify?.probability === 'number';
  } catch {
    return false;
  }
}

/**
 * Compiles server/ into dist/ as `npm start` does (incremental: seconds), so the benchmark
 * measures the server users run. (Comparing file times instead misjudged dist/ as stale after a
 * checkout: tsc leaves the output of unchanged sources alone.) From source when that fails.
 */
export function compileServer(): ApiFigures['serverFrom'] {
  const result = spawnSync('npm', ['run', '--silent', 'build:server'], { cwd: repoRoot, encoding: 'utf8' });
  if (result.status === 0) return 'compiled';
  process.stderr.write(`bench: compiling the server failed, running it from source\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  return 'source';
}

export class ServerProcess {
  private output = '';
  private constructor(
    private readonly child: ChildProcess,
    readonly startedAt: number,
  ) {
    child.stdout!.on('data', (c) => (this.output += c));
    child.stderr!.on('data', (c) => (this.output += c));
  }

  static start(from: ApiFigures['serverFrom'], env: Record<string, string>): ServerProcess {
    // The entry `npm start` runs (it sizes libuv's thread pool before the server loads).
    const args = from === 'compiled' ? [path.join(repoRoot, 'dist/server/start.cjs')] : ['--import', 'tsx', path.join(repoRoot, 'server/start.cts')];
    const startedAt = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServerProcess(child, startedAt);
  }

  /** Polls the listening line, then /readyz, returning when each was first seen (ms after start). */
  async whenReady(agent: http.Agent, timeoutMs = 60_000): Promise<{ origin: string; listeningMs: number; readyMs: number }> {
    const deadline = this.startedAt + timeoutMs;
    let origin: string | undefined;
    let listeningMs: number | undefined;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`the server exited (${this.child.exitCode}):\n${this.output}`);
      if (performance.now() > deadline) throw new Error(`the server was not ready within ${timeoutMs} ms:\n${this.output}`);
      origin ??= /GraphQL at (http:\/\/[^/\s]+)\/graphql/.exec(this.output)?.[1];
      if (origin) {
        const answer = await request(agent, new URL('/readyz', origin), { method: 'GET' }).catch(() => null);
        if (answer) listeningMs ??= performance.now() - this.startedAt;
        if (answer?.status === 200) return { origin, listeningMs: listeningMs!, readyMs: performance.now() - this.startedAt };
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

async function batchingTotals(agent: http.Agent, origin: string): Promise<{ batches: number; images: number }> {
  const { body } = await request(agent, new URL('/metrics', origin), { method: 'GET' });
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1] ?? NaN);
  return { batches: read('classify_batches_total'), images: read('classify_batched_images_total') };
}

/** A statistic of the latencies, NaN (null in JSON) when a machine too loaded answered none. */
function orNaN(statistic: (times: number[]) => number, times: number[]): number {
  return times.length > 0 ? statistic(times) : Number.NaN;
}

/** `views`: the server's SCREENING_VIEWS (all: eight test-time views per image; single: one). */
export async function measureApi(shape: BenchShape, jpeg: Buffer, clients = 50, views: 'all' | 'single' = 'all'): Promise<ApiFigures> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-api-'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let server: ServerProcess | undefined;
  try {
    const { dir: modelsDir, served } = await benchModelsDir(shape, root);
    const from = compileServer();
    server = ServerProcess.start(from, {
      PORT: '0',
      HOST: '127.0.0.1',
      MODELS_DIR: modelsDir,
      DATASETS_DIR: path.join(root, 'no-datasets'),
      STORE_FILE: path.join(root, 'runs.sqlite'),
      DASHBOARD_DIR: path.join(root, 'no-dashboard'),
      AUTO_TRAIN: 'false',
      NODE_ENV: 'production',
      SCREENING_VIEWS: views,
    });
    const { origin, listeningMs, readyMs } = await server.whenReady(agent);
    const url = new URL('/graphql', origin);
    const { headers, body } = classifyRequest(jpeg);
    const send = async () => answeredWell(await request(agent, url, { method: 'POST', headers, body }));
    const plan = loadPlan(shape.quick);

    await oneClient(send, plan.warmUpRequests);
    const single = await oneClient(send, plan.sequentialRequests);
    const before = await batchingTotals(agent, origin);
    const many = await manyClients(send, clients, plan.concurrentWarmUpMs, plan.concurrentWindowMs);
    const after = await batchingTotals(agent, origin);

    return {
      apiModel: served,
      serverFrom: from,
      serverListeningMs: listeningMs,
      serverReadyMs: readyMs,
      apiClassifyMsP50: orNaN(median, single.times),
      apiClassifyMsP99: orNaN((t) => percentile(t, 99), single.times),
      apiSingleClientImagesPerSec: single.imagesPerSec,
      apiConcurrentClients: clients,
      apiImagesPerSec: many.imagesPerSec,
      apiConcurrentMsP50: orNaN(median, many.times),
      apiConcurrentMsP99: orNaN((t) => percentile(t, 99), many.times),
      apiMeanBatch: (after.images - before.images) / (after.batches - before.batches),
      apiErrors: single.errors + many.errors,
    };
  } finally {
    agent.destroy();
    await server?.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}
