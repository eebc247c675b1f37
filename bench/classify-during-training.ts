// The classify API while a training run shares the machine. The compiled server (as `npm start`
// runs it) serves the shipped model from a temporary models folder and has a temporary copy of
// the shared set's training images; a classify load runs on the idle server, then again during
// a run started over GraphQL (once its first epoch has ended, so batches are under way), and the
// run is cancelled. Training runs at a lower CPU priority than serving (training-worker.ts).
//
//   npx tsx bench/classify-during-training.ts [--clients 1,8] [--seconds 8] [--json]
//
// Needs ../shared/datasets/skin-lesions (its train/ is copied to a temporary folder, never into
// the repository).
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sharedDatasetDir } from '../server/paths.js';
import { answeredWell, benchModelsDir, classifyRequest, compileServer, sampleJpeg, ServerProcess } from '../server/cli/bench-api.js';
import { manyClients, request } from '../server/cli/bench-load.js';
import { median, percentile } from '../server/cli/bench-measure.js';

const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const round = (v: number, digits = 1) => Number(v.toFixed(digits));

interface LoadFigures {
  clients: number;
  imagesPerSec: number;
  msP50: number;
  msP99: number;
  errors: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '1,8' }, seconds: { type: 'string', default: '8' }, json: { type: 'boolean', default: false } } });
  const clientCounts = values.clients.split(',').map(Number);
  const windowMs = Number(values.seconds) * 1000;
  if (clientCounts.some((c) => !(Number.isInteger(c) && c >= 1)) || !(windowMs > 0)) throw new Error('--clients takes positive integers, --seconds a positive number');
  const trainDir = path.join(sharedDatasetDir, 'train');
  await fs.access(trainDir).catch(() => {
    throw new Error(`no training images at ${trainDir}`);
  });

  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-training-'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(...clientCounts) + 2 });
  let server: ServerProcess | undefined;
  try {
    await fs.cp(trainDir, path.join(root, 'datasets', 'train'), { recursive: true });
    const { dir: modelsDir, served } = await benchModelsDir({ architecture: 'original-cnn', imageSize: 96, batchSize: 32, quick: false }, root);
    server = ServerProcess.start(compileServer(), {
      PORT: '0',
      HOST: '127.0.0.1',
      MODELS_DIR: modelsDir,
      DATASETS_DIR: path.join(root, 'datasets'),
      STORE_FILE: path.join(root, 'runs.sqlite'),
      DASHBOARD_DIR: path.join(root, 'no-dashboard'),
      AUTO_TRAIN: 'false',
      NODE_ENV: 'production',
      SCREENING_VIEWS: 'single',
      ADMIN_TOKEN,
    });
    const { origin } = await server.whenReady(agent);
    const url = new URL('/graphql', origin);
    const { headers, body } = classifyRequest(await sampleJpeg());
    const send = async () => answeredWell(await request(agent, url, { method: 'POST', headers, body }));
    const graphql = async (query: string) => {
      const answer = await request(agent, url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: Buffer.from(JSON.stringify({ query })),
      });
      const parsed = JSON.parse(answer.body) as { data?: Record<string, unknown>; errors?: { message: string }[] };
      if (parsed.errors) throw new Error(parsed.errors.map((e) => e.message).join('; '));
      return parsed.data!;
    };
    const load = async (clients: number): Promise<LoadFigures> => {
      const { times, imagesPerSec, errors } = await manyClients(send, clients, 1000, windowMs);
      return { clients, imagesPerSec: round(imagesPerSec), msP50: round(median(times), 2), msP99: round(percentile(times, 99), 2), errors };
    };

    const idle: LoadFigures[] = [];
    for (const clients of clientCounts) idle.push(await load(clients));

    const started = (await graphql('mutation { startTraining(input: { epochs: 100, imageSize: 96 }) { id } }')) as { startTraining: { id: string } };
    const runId = started.startTraining.id;
    const runQuery = `{ trainingRun(id: "${runId}") { status epochs { epoch imagesPerSecond } } }`;
    type Run = { trainingRun: { status: string; epochs: { epoch: number; imagesPerSecond: number }[] } };
    const deadline = performance.now() + 300_000;
    for (;;) {
      const { trainingRun } = (await graphql(runQuery)) as Run;
      if (trainingRun.epochs.length >= 1) break;
      if (!['QUEUED', 'RUNNING'].includes(trainingRun.status)) throw new Error(`the training run ended (${trainingRun.status}) before its first epoch`);
      if (performance.now() > deadline) throw new Error('the training run did not finish an epoch within 5 minutes');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const during: LoadFigures[] = [];
    for (const clients of clientCounts) during.push(await load(clients));
    const { trainingRun } = (await graphql(runQuery)) as Run;
    await graphql(`mutation { cancelTraining(id: "${runId}") { id } }`);

    const report = { model: served, idle, duringTraining: during, trainingEpochs: trainingRun.epochs.map((e) => ({ epoch: e.epoch, imagesPerSec: round(e.imagesPerSecond) })) };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return;
    }
    console.log(`classify (single view, ${served}), idle server and during a training run (96 px original CNN, ${os.availableParallelism()} cores)`);
    for (const [k, clients] of clientCounts.entries()) {
      const [a, b] = [idle[k]!, during[k]!];
      console.log(`  ${clients} client(s): idle ${a.imagesPerSec} img/s, p50 ${a.msP50} ms, p99 ${a.msP99} ms | training ${b.imagesPerSec} img/s, p50 ${b.msP50} ms, p99 ${b.msP99} ms`);
    }
    console.log(`  training epochs finished: ${report.trainingEpochs.map((e) => `${e.epoch}: ${e.imagesPerSec} img/s`).join(', ')}`);
  } finally {
    agent.destroy();
    await server?.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
