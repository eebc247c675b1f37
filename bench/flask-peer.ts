// The classify API against its peer: a minimal Flask + PyTorch app (bench/flask_peer.py) under the
// same load as `npm run bench` sends the service - one 224x224 JPEG per multipart request, one
// client at a time, then 50 at once. Both serve the original CNN (96 px unless --image-size).
//
//   npx tsx bench/flask-peer.ts [--json] [--image-size 96] [--clients 50] [--quick] [--ours [--views all|single]]
//
// --ours also measures this service (as `npm run bench` does) right after, and prints the ratios.
// Needs Debian's python3-torch and python3-flask (CI installs neither).
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../server/ml/backend.js';
import { defaultTrainingParams } from '../server/ml/types.js';
import { measureApi, sampleJpeg } from '../server/cli/bench-api.js';
import { loadPlan, manyClients, multipartUpload, oneClient, request } from '../server/cli/bench-load.js';
import { median, percentile } from '../server/cli/bench-measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const round = (v: number, digits = 1) => Number(v.toFixed(digits));
/** NaN (null in JSON) when a machine too loaded answered nothing in the window. */
const stat = (f: (t: number[]) => number, t: number[]) => (t.length > 0 ? f(t) : Number.NaN);
const p99 = (t: number[]) => percentile(t, 99);

async function measureFlask(imageSize: number, clients: number, quick: boolean, jpeg: Buffer) {
  const port = 5100 + Math.floor(Math.random() * 800);
  const child = spawn('/usr/bin/python3', [path.join(here, 'flask_peer.py'), '--port', String(port), '--image-size', String(imageSize), '--threads', String(os.cpus().length)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (c) => (output += c));
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  try {
    const origin = `http://127.0.0.1:${port}`;
    const started = performance.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the Flask peer exited (${child.exitCode}):\n${output}`);
      if (performance.now() - started > 60_000) throw new Error(`the Flask peer did not start:\n${output}`);
      const answer = await request(agent, new URL('/readyz', origin), { method: 'GET' }).catch(() => null);
      if (answer?.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const readyMs = performance.now() - started;
    const { headers, body } = multipartUpload({}, { field: 'image', bytes: jpeg });
    const url = new URL('/predict', origin);
    const send = async () => {
      const answer = await request(agent, url, { method: 'POST', headers, body });
      return answer.status === 200 && typeof (JSON.parse(answer.body) as { probability?: unknown }).probability === 'number';
    };
    const plan = loadPlan(quick);
    await oneClient(send, plan.warmUpRequests);
    const single = await oneClient(send, plan.sequentialRequests);
    const many = await manyClients(send, clients, plan.concurrentWarmUpMs, plan.concurrentWindowMs);
    return {
      readyMs: Math.round(readyMs),
      classifyMsP50: round(stat(median, single.times), 2),
      classifyMsP99: round(stat(p99, single.times), 2),
      singleClientImagesPerSec: round(single.imagesPerSec),
      imagesPerSec: round(many.imagesPerSec),
      concurrentMsP50: round(stat(median, many.times)),
      concurrentMsP99: round(stat(p99, many.times)),
      errors: single.errors + many.errors,
    };
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
  }
}

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    ours: { type: 'boolean', default: false },
    'image-size': { type: 'string', default: '96' },
    clients: { type: 'string', default: '50' },
    // The peer scores each image once, as the original app did; 'single' is the like-for-like.
    views: { type: 'string', default: 'all' },
  },
});
const imageSize = Number(values['image-size']);
const clients = Number(values.clients);
const views = values.views;
if (views !== 'all' && views !== 'single') throw new Error(`--views must be all or single, got "${views}"`);
const jpeg = await sampleJpeg();
const loadBefore = os.loadavg()[0];
const flask = await measureFlask(imageSize, clients, values.quick, jpeg);
let ours: Awaited<ReturnType<typeof measureApi>> | null = null;
if (values.ours) {
  await initBackend();
  // The peer serves the original CNN, so ours does too, whatever the default model is.
  ours = await measureApi({ architecture: 'original-cnn', imageSize, batchSize: defaultTrainingParams.batchSize, quick: values.quick }, jpeg, clients, views);
}
const report = {
  imageSize,
  clients,
  flask,
  ours: ours && {
    model: ours.apiModel,
    screeningViews: views,
    serverFrom: ours.serverFrom,
    readyMs: Math.round(ours.serverReadyMs),
    classifyMsP50: round(ours.apiClassifyMsP50, 2),
    classifyMsP99: round(ours.apiClassifyMsP99, 2),
    singleClientImagesPerSec: round(ours.apiSingleClientImagesPerSec),
    imagesPerSec: round(ours.apiImagesPerSec),
    concurrentMsP50: round(ours.apiConcurrentMsP50),
    concurrentMsP99: round(ours.apiConcurrentMsP99),
    errors: ours.apiErrors,
  },
  loadAverage: { before: round(loadBefore, 2), after: round(os.loadavg()[0], 2) },
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const row = (name: string, r: typeof flask) =>
    `${name.padEnd(16)} one client p50 ${r.classifyMsP50} ms, p99 ${r.classifyMsP99} ms, ${r.singleClientImagesPerSec} img/s | ${clients} clients ${r.imagesPerSec} img/s, p50 ${r.concurrentMsP50} ms, p99 ${r.concurrentMsP99} ms | ready ${r.readyMs} ms | ${r.errors} errors\n`;
  process.stdout.write(`classify API at ${imageSize}px, one 224x224 JPEG per request (load average ${report.loadAverage.before} -> ${report.loadAverage.after})\n`);
  process.stdout.write(row('Flask + PyTorch', flask));
  if (report.ours) {
    process.stdout.write(row(`this service (${views} views, ${report.ours.model})`, report.ours));
    process.stdout.write(
      `ratio (ours / Flask): p50 latency ${round(report.ours.classifyMsP50 / flask.classifyMsP50, 2)}x, throughput at ${clients} clients ${round(report.ours.imagesPerSec / flask.imagesPerSec, 2)}x\n`,
    );
  }
}
process.exit(0);
