// The scaled-out deployment as separate processes on loopback: Redis, two API replicas and
// trainer workers sharing a models folder and a run store. A run started through one replica
// is executed by a worker and streamed to a subscriber on the other; both replicas then serve
// the new version; a worker killed mid-run fails its run and the next worker takes the next job;
// a Redis restart is survived by replicas and workers alike.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, gql, gqlUpload, subscribe, tempDir, wsClient, type Subscription } from '../api/helpers.js';
import { startServerProcess, startWorkerProcess, type ProjectProcess, type ServerProcess } from '../reliability/server-process.js';

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedis) console.warn('scale-out test skipped: redis-server is not installed (apt-get install redis-server; .ci/run installs it)');

const PROGRESS = /* GraphQL */ `
  subscription Progress {
    trainingProgress { runId kind status epoch modelVersion activated errorCode }
  }
`;
const START = /* GraphQL */ `
  mutation Start($input: TrainingInput) {
    startTraining(input: $input) { id status }
  }
`;
const RUN = /* GraphQL */ `
  query Run($id: ID!) {
    trainingRun(id: $id) { id status errorCode errorMessage modelVersion epochs { epoch } }
  }
`;
const STATUS = /* GraphQL */ `
  query { modelStatus { activeVersion } }
`;
const CLASSIFY = /* GraphQL */ `
  mutation Classify($image: Upload!) {
    classify(image: $image) { modelVersion probability }
  }
`;

interface ProgressEvent {
  runId: string;
  kind: string;
  status: string;
  epoch: number | null;
  modelVersion: string | null;
  activated: boolean | null;
  errorCode: string | null;
}

/** Small and quick: this is about coordination, not about the model. */
const SHORT_RUN = { imageSize: 32, epochs: 2, batchSize: 8, seed: 11, augment: false, autoPromote: true };

let work: string;
let toy: ToyDataset;
let redis: ChildProcess | undefined;
let redisPort: number;
let env: Record<string, string>;
let replicaA: ServerProcess;
let replicaB: ServerProcess;
const workers: ProjectProcess[] = [];
const clients: ReturnType<typeof wsClient>[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const started = Date.now();
  while (!/Ready to accept connections/.test(output)) {
    if (child.exitCode !== null || Date.now() - started > 10_000) throw new Error(`redis-server did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}

async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

const admin = { token: ADMIN_TOKEN };

async function startRun(replica: ServerProcess, input: Record<string, unknown>): Promise<string> {
  const response = await gql(replica.url, START, { input }, admin);
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data!.startTraining.id as string;
}

async function runOn(replica: ServerProcess, id: string) {
  const response = await gql(replica.url, RUN, { id }, admin);
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data!.trainingRun as { status: string; errorCode: string | null; errorMessage: string | null; modelVersion: string | null; epochs: { epoch: number }[] };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function progressOn(replica: ServerProcess): Subscription<ProgressEvent> {
  const client = wsClient(replica.wsUrl, { authorization: `Bearer ${ADMIN_TOKEN}` });
  clients.push(client);
  return subscribe<ProgressEvent>(client, PROGRESS, {}, (d) => d.trainingProgress);
}

/** The subscription is live once it has seen an event; `modelStatus` cannot tell, so wait for the connection to settle. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}

beforeAll(async () => {
  if (!hasRedis) return;
  work = await tempDir('scale-out-');
  toy = await createToyDataset({ root: path.join(work, 'data'), splits: { train: 12, test: 4 }, size: 48, seed: 23 });
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  env = {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    DATASETS_DIR: toy.root,
    MODELS_DIR: path.join(work, 'models'),
    STORE_FILE: path.join(work, 'runs.sqlite'),
    ADMIN_TOKEN,
    // A dead worker is noticed within a few seconds instead of a minute.
    TRAINING_LOCK_MS: '1500',
    TF_THREADS: '1',
  };
  [replicaA, replicaB] = await Promise.all([startServerProcess({ env }), startServerProcess({ env })]);
  workers.push(await startWorkerProcess({ env }));
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await Promise.all([replicaA?.stop(), replicaB?.stop(), ...workers.map((w) => w.stop())]);
  await stopProcess(redis);
  await toy?.cleanup();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe.skipIf(!hasRedis)('two API replicas and trainer workers on Redis', () => {
  it('streams a run started through replica B and executed by the worker to a subscriber on replica A; both replicas then serve its version', { timeout: 180_000 }, async () => {
    const onA = progressOn(replicaA);
    await settle();
    const runId = await startRun(replicaB, SHORT_RUN);

    const finished = await onA.waitFor((e) => e.runId === runId && e.kind === 'FINISHED', 150_000);
    expect(finished, replicaA.output() + workers[0]!.output()).toMatchObject({ status: 'SUCCEEDED', activated: true });
    const version = finished.modelVersion!;
    const ofRun = onA.events.filter((e) => e.runId === runId);
    expect(ofRun.map((e) => e.kind)).toContain('QUEUED');
    expect(ofRun.filter((e) => e.kind === 'EPOCH').map((e) => e.epoch)).toEqual([1, 2]);
    // Executed by the worker, not by either replica. The worker logs after publishing the
    // outcome, so its line may reach this process's pipe a moment after the event.
    await expect.poll(() => workers[0]!.output(), { timeout: 10_000 }).toContain(`training run ${runId}: succeeded (${version}, now active)`);

    const image = await fs.readFile(toy.files.find((f) => f.split === 'test')!.path);
    for (const replica of [replicaA, replicaB]) {
      await until(`${replica.url} to serve ${version}`, async () => (await gql(replica.url, STATUS)).data?.modelStatus.activeVersion === version);
      const classified = await gqlUpload(replica.url, CLASSIFY, { image: null }, { 'variables.image': { bytes: image, name: 'lesion.png' } });
      expect(classified.errors, JSON.stringify(classified.errors)).toBeUndefined();
      expect(classified.data!.classify.modelVersion).toBe(version);
    }
    // The same version gives the same answer on both replicas.
    const answers = await Promise.all(
      [replicaA, replicaB].map(async (r) => (await gqlUpload(r.url, CLASSIFY, { image: null }, { 'variables.image': { bytes: image, name: 'lesion.png' } })).data!.classify.probability as number),
    );
    expect(answers[0]).toBeCloseTo(answers[1]!, 6);
  });

  it('a worker killed mid-run fails its run (seen on every replica); a second worker takes the next job', { timeout: 180_000 }, async () => {
    const onB = progressOn(replicaB);
    await settle();
    const longRun = await startRun(replicaA, { ...SHORT_RUN, epochs: 500, autoPromote: false });
    await until('the first epoch of the long run', async () => (await runOn(replicaB, longRun)).epochs.length >= 1, 120_000);
    await stopProcess(workers[0]!.child, 'SIGKILL');

    // Another worker's stalled-job check notices the lost lock; a replica records the failure.
    workers.push(await startWorkerProcess({ env }));
    const failed = await until('the killed run to be marked failed', async () => {
      const run = await runOn(replicaA, longRun);
      return run.status === 'FAILED' ? run : null;
    });
    expect(failed.errorCode).toBe('TRAINING_WORKER_LOST');
    expect(failed.errorMessage).toMatch(/stopped responding/);
    expect((await runOn(replicaB, longRun)).status).toBe('FAILED');
    await onB.waitFor((e) => e.runId === longRun && e.kind === 'FINISHED' && e.status === 'FAILED', 10_000);

    const next = await startRun(replicaB, { ...SHORT_RUN, seed: 12 });
    const done = await until('the next run to finish', async () => {
      const run = await runOn(replicaA, next);
      return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status) ? run : null;
    }, 150_000);
    expect(done.status, done.errorMessage ?? '').toBe('SUCCEEDED');
    await expect.poll(() => workers[1]!.output(), { timeout: 10_000 }).toContain(`training run ${next}: succeeded`);
  });

  it('survives a Redis restart: replicas and the worker reconnect, subscriptions resume, runs go through', { timeout: 180_000 }, async () => {
    const onA = progressOn(replicaA);
    await settle();
    await stopProcess(redis);
    // While Redis is down, starting a run fails at once with a code instead of hanging.
    const refused = await gql(replicaB.url, START, { input: SHORT_RUN }, admin);
    expect(refused.errors?.[0]?.extensions?.code).toBe('TRAINING_UNAVAILABLE');
    redis = await startRedis(redisPort);

    // Reconnection takes up to a couple of seconds (ioredis backs off to 2 s).
    const runId = await until('a run to be accepted again', async () => {
      const response = await gql(replicaB.url, START, { input: { ...SHORT_RUN, seed: 13 } }, admin);
      if (response.errors?.[0]?.extensions?.code === 'TRAINING_UNAVAILABLE') return null;
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      return response.data!.startTraining.id as string;
    }, 30_000);
    const finished = await onA.waitFor((e) => e.runId === runId && e.kind === 'FINISHED', 150_000);
    expect(finished.status).toBe('SUCCEEDED');
  });
});
