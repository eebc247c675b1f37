// Faults a screening service must survive without losing its model: the process killed with
// SIGKILL in the middle of training and in the middle of saving a version, a full disk while
// saving, a read-only model folder, damaged model folders and a damaged run database. After each,
// the previously active model serves, the interrupted run says so, and no half-written version
// is listed as usable.
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/paths.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, codes, gql, gqlUpload, startTestApp, tempDir, trainThroughService, type TestApp } from '../api/helpers.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

const admin = { token: ADMIN_TOKEN };
/** Small and quick: a run reaches its first epoch, or its save, within seconds. The architecture is fixed so the weights' size is known (disk-full case). */
const QUICK = 'imageSize: 32, batchSize: 4, augment: false, architecture: "original-cnn"';
const QUICK_PARAMS = { imageSize: 32, batchSize: 4, augment: false, architecture: 'original-cnn' };
const FILE_SIZE_LIMIT = 512 * 1024;

let root: string;
let toy: ToyDataset;
/** A models folder holding one trained, active version v1, and its run store. */
let template: { models: string; store: string };
let image: Buffer;
const processes: ServerProcess[] = [];
const faultsSurvived: string[] = [];

beforeAll(async () => {
  root = await tempDir('faults-');
  toy = await createToyDataset({ root: path.join(root, 'data'), splits: { train: 12 }, size: 48, seed: 13 });
  template = { models: path.join(root, 'template', 'models'), store: path.join(root, 'template', 'store', 'runs.sqlite') };
  const trainer = await startTestApp({ dataDir: toy.root, modelsDir: template.models, storeFile: template.store });
  await trainThroughService(trainer, { ...QUICK_PARAMS, epochs: 1 });
  expect(trainer.services.models.status().activeVersion).toBe('v1');
  // A picture v1 classifies (its input guard may refuse some as unlike its training images).
  for (const file of toy.files) {
    const bytes = await fs.readFile(file.path);
    if (await trainer.services.models.classify(bytes).then(() => true, () => false)) {
      image = bytes;
      break;
    }
  }
  await trainer.close();
  expect(image, 'no toy image was classified').toBeDefined();
});

afterAll(async () => {
  for (const server of processes) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  if (root) await fs.rm(root, { recursive: true, force: true });
  if (faultsSurvived.length > 0) console.log(`faults survived (${faultsSurvived.length}): ${faultsSurvived.join('; ')}`);
});

/** A fresh copy of the template's models and store for one scenario. */
async function scenario(name: string): Promise<{ dir: string; models: string; store: string; env: Record<string, string> }> {
  const dir = path.join(root, name);
  const models = path.join(dir, 'models');
  const store = path.join(dir, 'store', 'runs.sqlite');
  await fs.cp(template.models, models, { recursive: true });
  await fs.cp(path.dirname(template.store), path.dirname(store), { recursive: true });
  const env = { NODE_ENV: 'production', DATASETS_DIR: toy.root, MODELS_DIR: models, STORE_FILE: store, FEEDBACK_DIR: path.join(dir, 'feedback'), ADMIN_TOKEN };
  return { dir, models, store, env };
}

async function start(options: Parameters<typeof startServerProcess>[0]): Promise<ServerProcess> {
  const server = await startServerProcess(options);
  processes.push(server);
  return server;
}

async function startTraining(url: string, input = `epochs: 1, ${QUICK}`): Promise<string> {
  const response = await gql(url, `mutation { startTraining(input: { ${input} }) { id } }`, {}, admin);
  expect(response.errors).toBeUndefined();
  return response.data!.startTraining.id;
}

async function runState(url: string, id: string): Promise<{ status: string; errorCode: string | null; errorMessage: string | null; epochs: unknown[] }> {
  return (await gql(url, `{ trainingRun(id: "${id}") { status errorCode errorMessage epochs { epoch } } }`)).data!.trainingRun;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The previous model answers, and the registry lists exactly the intact versions expected. */
async function expectServing(url: string, versions: string[], active = 'v1'): Promise<void> {
  const listing = (await gql(url, '{ models { active versions { version } damaged { version reason } } }')).data!.models;
  expect(listing).toEqual({ active, versions: versions.map((version) => ({ version })), damaged: [] });
  const classified = await gqlUpload(url, 'mutation ($f: Upload!) { classify(image: $f) { modelVersion } }', { f: null }, { 'variables.f': { bytes: image, name: 'l.jpg' } });
  expect(classified.errors).toBeUndefined();
  expect(classified.data!.classify.modelVersion).toBe(active);
}

/** Visible entries of a models folder (hidden ones are in-progress or crashed writes). */
async function visibleEntries(models: string): Promise<string[]> {
  return (await fs.readdir(models)).filter((name) => !name.startsWith('.')).sort();
}

describe('SIGKILL', () => {
  it('in the middle of training: after a restart v1 serves and the run is marked interrupted', async () => {
    const { env, models } = await scenario('kill-training');
    const server = await start({ env });
    await server.waitReady();
    const runId = await startTraining(server.url, `epochs: 200, ${QUICK}`);
    await until('a recorded epoch', async () => ((await runState(server.url, runId)).epochs.length >= 1 ? true : undefined));
    server.child.kill('SIGKILL');
    expect(await server.exited).toBe('SIGKILL');

    const restarted = await start({ env });
    await restarted.waitReady();
    const run = await runState(restarted.url, runId);
    expect(run.status).toBe('INTERRUPTED');
    expect(run.errorCode).toBe('INTERRUPTED');
    expect(run.epochs.length).toBeGreaterThanOrEqual(1);
    expect(restarted.output()).toMatch(/1 training run\(s\) left open by a previous process marked interrupted/);
    await expectServing(restarted.url, ['v1']);
    expect(await visibleEntries(models)).toEqual(['active.json', 'v1']);
    expect(await restarted.stop()).toBe(0);
    faultsSurvived.push('SIGKILL mid-training');
  });

  // (tests/unit/registry.test.ts shows the next save takes the next number despite such a leftover.)
  it('in the middle of saving a version: the half-published version stays hidden and v1 serves', async () => {
    const { env, models } = await scenario('kill-saving');
    const server = await start({ env, preload: path.join(repoRoot, 'tests/fixtures/pause-version-publish.cjs') });
    await server.waitReady();
    const runId = await startTraining(server.url);
    // Every file of the new version is written and synced; only the rename that publishes it is left.
    const [, from] = (await server.waitForOutput(/pausing before publishing (\S+) as (\S+)/, 90_000)) as unknown as [string, string, string];
    server.child.kill('SIGKILL');
    await server.exited;
    expect((await fs.readdir(from)).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);

    const restarted = await start({ env });
    await restarted.waitReady();
    expect((await runState(restarted.url, runId)).status).toBe('INTERRUPTED');
    await expectServing(restarted.url, ['v1']);
    expect(await visibleEntries(models)).toEqual(['active.json', 'v1']);

    expect(await restarted.stop()).toBe(0);
    faultsSurvived.push('SIGKILL mid-save');
  });
});

describe('a save that cannot write', () => {
  const hasPrlimit = (() => {
    try {
      execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasPrlimit)('fails the run cleanly with a message when the disk is full, and v1 keeps serving', async () => {
    const { env, models } = await scenario('disk-full');
    // Files may grow to 512 kB: the run store fits, the weights file does not (EFBIG, as a full disk gives ENOSPC).
    expect((await fs.stat(path.join(models, 'v1', 'weights.bin'))).size).toBeGreaterThan(2 * FILE_SIZE_LIMIT);
    const server = await start({ env, prefix: ['prlimit', `--fsize=${FILE_SIZE_LIMIT}`] });
    await server.waitReady();
    const runId = await startTraining(server.url);
    const run = await until('the run to end', async () => {
      const state = await runState(server.url, runId);
      return state.status === 'RUNNING' ? undefined : state;
    });
    expect(run.status).toBe('FAILED');
    expect(run.errorCode).toBe('SAVE_FAILED');
    expect(run.errorMessage).toMatch(/^could not save a new model version in .*: .*(file too large|no space)/i);
    await expectServing(server.url, ['v1']);
    // The partial version was cleaned away, not left behind (hidden or not).
    expect((await fs.readdir(models)).sort()).toEqual(['active.json', 'v1']);
    expect(await server.stop()).toBe(0);
    faultsSurvived.push(`disk full while saving (the run failed with: ${run.errorMessage})`);
  });

  const hasSetpriv = (() => {
    try {
      execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const asRoot = process.getuid?.() === 0;
  const NOBODY = 65534;

  it.skipIf(asRoot && !hasSetpriv)('fails the run cleanly when the models folder is read-only, and v1 keeps serving', async () => {
    const { dir, env, models, store } = await scenario('read-only');
    await fs.chmod(models, 0o555);
    let prefix: string[] | undefined;
    if (asRoot) {
      // Root writes whatever the permissions say: the server runs as nobody, who may read
      // everything it needs and write only its run store and feedback folder.
      await fs.chmod(root, 0o755);
      await fs.chmod(dir, 0o755);
      await fs.mkdir(env.FEEDBACK_DIR!, { recursive: true });
      for (const owned of [path.dirname(store), store, env.FEEDBACK_DIR!]) await fs.chown(owned, NOBODY, NOBODY);
      prefix = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
    }
    try {
      const server = await start({ env, prefix });
      await server.waitReady();
      const runId = await startTraining(server.url);
      const run = await until('the run to end', async () => {
        const state = await runState(server.url, runId);
        return state.status === 'RUNNING' ? undefined : state;
      });
      expect(run.status, server.output()).toBe('FAILED');
      expect(run.errorCode).toBe('SAVE_FAILED');
      expect(run.errorMessage).toMatch(/^could not save a new model version in .*: .*(permission denied|EACCES|read-only|EROFS)/i);
      await expectServing(server.url, ['v1']);
      expect((await fs.readdir(models)).sort()).toEqual(['active.json', 'v1']);
      expect(await server.stop()).toBe(0);
      faultsSurvived.push(`read-only models folder${asRoot ? ' (server run as nobody)' : ''}`);
    } finally {
      await fs.chmod(models, 0o755);
    }
  });
});

describe('damage found at start-up', () => {
  async function appOn(models: string, store: string): Promise<TestApp> {
    const app = await startTestApp({ dataDir: toy.root, modelsDir: models, storeFile: store, env: { ADMIN_TOKEN } });
    await app.modelLoaded;
    return app;
  }

  it('lists damaged versions with the reason while the intact active one serves', async () => {
    const { models, store } = await scenario('damaged-versions');
    await fs.cp(path.join(models, 'v1'), path.join(models, 'v2'), { recursive: true });
    await fs.cp(path.join(models, 'v1'), path.join(models, 'v3'), { recursive: true });
    const weights = path.join(models, 'v2', 'weights.bin');
    await fs.truncate(weights, (await fs.stat(weights)).size - 1000);
    await fs.writeFile(path.join(models, 'v3', 'metadata.json'), '{"format": "skin-cancer-detection/model@1", "thresh');

    const app = await appOn(models, store);
    try {
      const listing = (await gql(app.url, '{ models { active versions { version } damaged { version reason } } }')).data!.models;
      expect(listing.active).toBe('v1');
      expect(listing.versions).toEqual([{ version: 'v1' }]);
      const reasons = Object.fromEntries(listing.damaged.map((d: { version: string; reason: string }) => [d.version, d.reason]));
      expect(reasons.v2).toMatch(/weights hold \d+ bytes/);
      expect(reasons.v3).toMatch(/metadata\.json is not valid JSON/);
      const classified = await gqlUpload(app.url, 'mutation ($f: Upload!) { classify(image: $f) { modelVersion } }', { f: null }, { 'variables.f': { bytes: image, name: 'l.jpg' } });
      expect(classified.data!.classify.modelVersion).toBe('v1');
      expect(codes(await gql(app.url, 'mutation { promoteModel(version: "v2") { version } }', {}, admin))).toEqual(['DAMAGED_MODEL']);
      faultsSurvived.push('damaged non-active versions (truncated weights, bad JSON)');
    } finally {
      await app.close();
    }
  });

  it('reports a damaged active version, keeps answering, and serves again once an intact one is promoted', async () => {
    const { models, store } = await scenario('damaged-active');
    await fs.cp(path.join(models, 'v1'), path.join(models, 'v2'), { recursive: true });
    const weights = path.join(models, 'v1', 'weights.bin');
    await fs.truncate(weights, 1000);

    const app = await appOn(models, store);
    try {
      const ready = await fetch(`${app.origin}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { reason: string }).reason).toMatch(/active version v1 is damaged: .*weights hold 1000 bytes/);
      const refused = await gqlUpload(app.url, 'mutation ($f: Upload!) { classify(image: $f) { modelVersion } }', { f: null }, { 'variables.f': { bytes: image, name: 'l.jpg' } });
      expect(codes(refused)).toEqual(['MODEL_NOT_READY']);
      expect(refused.errors![0].message).toMatch(/v1 is damaged/);
      // Everything else answers: the history, the intact version, and promotion.
      expect((await gql(app.url, '{ trainingRuns { status } }')).data!.trainingRuns).toEqual([{ status: 'SUCCEEDED' }]);
      expect((await gql(app.url, 'mutation { promoteModel(version: "v2") { version } }', {}, admin)).data!.promoteModel.version).toBe('v2');
      const classified = await gqlUpload(app.url, 'mutation ($f: Upload!) { classify(image: $f) { modelVersion } }', { f: null }, { 'variables.f': { bytes: image, name: 'l.jpg' } });
      expect(classified.data!.classify.modelVersion).toBe('v2');
      faultsSurvived.push('damaged active version');
    } finally {
      await app.close();
    }
  });

  it('reports an unreadable active pointer and keeps answering', async () => {
    const { models, store } = await scenario('damaged-pointer');
    await fs.writeFile(path.join(models, 'active.json'), '{"version": "v1", "prev');
    const app = await appOn(models, store);
    try {
      const status = (await gql(app.url, '{ modelStatus { ready reason } models { versions { version } } }')).data!;
      expect(status.modelStatus).toEqual({ ready: false, reason: 'active.json is malformed' });
      expect(status.models.versions).toEqual([{ version: 'v1' }]);
      faultsSurvived.push('malformed active.json');
    } finally {
      await app.close();
    }
  });

  it('moves a damaged run database aside, starts an empty history, and the model still serves', async () => {
    const { models, store } = await scenario('damaged-store');
    const garbage = Buffer.from(Array.from({ length: 16_384 }, (_, i) => (i * 7919 + 13) % 251));
    for (const suffix of ['-wal', '-shm']) await fs.rm(store + suffix, { force: true });
    await fs.writeFile(store, garbage);

    const app = await appOn(models, store);
    try {
      expect(app.logs.some((line) => /^warn run store: .*damaged.*moved it to .*runs\.sqlite\.damaged-/.test(line)), app.logs.join('\n')).toBe(true);
      const aside = (await fs.readdir(path.dirname(store))).filter((name) => name.includes('.damaged-'));
      expect(aside).toHaveLength(1);
      expect(await fs.readFile(path.join(path.dirname(store), aside[0]!))).toEqual(garbage);
      expect((await gql(app.url, '{ trainingRuns { id } }')).data!.trainingRuns).toEqual([]);
      await expectServing(app.url, ['v1']);
      faultsSurvived.push('damaged run database');
    } finally {
      await app.close();
    }
  });
});
