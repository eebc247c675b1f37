// Training control over the real API: a run started over HTTP whose progress streams over a
// graphql-ws client, cancellation, one run at a time, model promotion rules, authentication over
// HTTP and WebSocket, and what survives a restart.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainingThreads } from '../../server/ml/backend.js';
import { defaultTrainingParams } from '../../server/ml/types.js';
import { currentThreadPriority } from '../../server/util/thread-priority.js';
import { RunStore } from '../../server/store/run-store.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, codes, gql, gqlUpload, startTestApp, subscribe, tempDir, wsClient, type TestApp } from './helpers.js';

const PROGRESS = /* GraphQL */ `
  subscription Progress($runId: ID) {
    trainingProgress(runId: $runId) {
      runId status kind stage message done total epoch epochs batch batchesPerEpoch loss accuracy imagesPerSecond etaSeconds
      validationLoss validationAccuracy validationAuc modelVersion activated errorCode errorMessage
    }
  }
`;
const START = /* GraphQL */ `
  mutation Start($input: TrainingInput) {
    startTraining(input: $input) { id status trigger autoPromote params { epochs imageSize batchSize learningRate seed augment } }
  }
`;

interface ProgressEvent {
  runId: string;
  status: string;
  kind: string;
  [field: string]: unknown;
}

let toy: ToyDataset;
let modelsDir: string;
let storeFile: string;
let app: TestApp;
const admin = { token: ADMIN_TOKEN };
// Plumbing, not model quality: the smallest network keeps these runs short.
const quick = { imageSize: 32, epochs: 2, batchSize: 8, seed: 3, architecture: 'original-cnn' };

/** The nice value of each of this process's threads (Linux). */
async function threadPriorities(): Promise<number[]> {
  const priorities = (await fs.readdir('/proc/self/task')).map((tid) => {
    try {
      return os.getPriority(Number(tid));
    } catch {
      return null; // the thread ended meanwhile
    }
  });
  return priorities.filter((nice): nice is number => nice !== null);
}

const start = (input: Record<string, unknown>, token: string | undefined = ADMIN_TOKEN) => gql(app.url, START, { input }, { token });
const runStatus = async (id: string) => (await gql(app.url, `query ($id: ID!) { trainingRun(id: $id) { status } }`, { id })).data!.trainingRun.status;

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 24, test: 8 }, size: 48, seed: 4 });
  modelsDir = await tempDir('api-models-');
  storeFile = path.join(modelsDir, 'runs.sqlite');
  app = await startTestApp({ dataDir: toy.root, modelsDir, storeFile, env: { ADMIN_TOKEN } });
});

afterAll(async () => {
  await app?.close();
  await toy?.cleanup();
  if (modelsDir) await fs.rm(modelsDir, { recursive: true, force: true });
});

describe('training over the API', () => {
  let firstRun: string;

  it('streams queued, stage, data, batch, epoch and finished events of a run started over HTTP', async () => {
    const client = wsClient(app.wsUrl, { authorization: `Bearer ${ADMIN_TOKEN}` });
    try {
      const all = subscribe<ProgressEvent>(client, PROGRESS, {}, (d) => d.trainingProgress);
      const other = subscribe<ProgressEvent>(client, PROGRESS, { runId: 'run-999' }, (d) => d.trainingProgress);
      // The server acknowledges subscriptions asynchronously; a query on the same socket afterwards proves they are live.
      await new Promise<void>((resolve, reject) => client.subscribe({ query: '{ modelStatus { ready } }' }, { next: () => {}, error: reject, complete: resolve }));

      const started = await start(quick);
      expect(started.errors).toBeUndefined();
      const run = started.data!.startTraining;
      firstRun = run.id;
      expect(run).toMatchObject({
        status: 'RUNNING',
        trigger: 'API',
        autoPromote: false,
        params: { epochs: 2, imageSize: 32, batchSize: 8, seed: 3, learningRate: defaultTrainingParams.learningRate, augment: defaultTrainingParams.augment },
      });

      const finished = await all.waitFor((e) => e.runId === run.id && e.kind === 'FINISHED');
      expect(finished).toMatchObject({ status: 'SUCCEEDED', modelVersion: 'v1', activated: true, errorCode: null });

      const events = all.events.filter((e) => e.runId === run.id);
      const kinds = new Set(events.map((e) => e.kind));
      for (const kind of ['QUEUED', 'STAGE', 'DATA', 'BATCH', 'EPOCH', 'FINISHED']) expect(kinds).toContain(kind);
      const batch = events.find((e) => e.kind === 'BATCH')!;
      expect(batch).toMatchObject({ status: 'RUNNING', epochs: 2, stage: null, modelVersion: null });
      expect(batch.batchesPerEpoch).toBeGreaterThan(0);
      expect(batch.loss).toBeGreaterThan(0);
      const epochs = events.filter((e) => e.kind === 'EPOCH');
      expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
      expect(epochs[1].validationAuc).not.toBeUndefined();
      expect(events.at(-1)!.kind).toBe('FINISHED');
      expect(other.events).toEqual([]);
      expect(all.errors).toEqual([]);

      all.stop();
      other.stop();
    } finally {
      await client.dispose();
    }
    expect(await runStatus(firstRun)).toBe('SUCCEEDED');
    const status = await gql(app.url, '{ modelStatus { ready activeVersion trainingInProgress } }');
    expect(status.data!.modelStatus).toEqual({ ready: true, activeVersion: 'v1', trainingInProgress: false });
  });

  it('runs one training at a time, and cancels a run in progress', async () => {
    const client = wsClient(app.wsUrl, { token: ADMIN_TOKEN });
    try {
      const long = await start({ ...quick, epochs: 200 });
      expect(long.errors).toBeUndefined();
      const runId = long.data!.startTraining.id;
      const progress = subscribe<ProgressEvent>(client, PROGRESS, { runId }, (d) => d.trainingProgress);
      await progress.waitFor((e) => e.kind === 'BATCH');

      const own = currentThreadPriority();
      if (own !== null && own < 10) {
        // The run is background work: its thread and the replica threads it started run at nice
        // 10 while the threads that serve requests keep theirs.
        const replicas = trainingThreads() > 1 ? Math.min(trainingThreads(), quick.batchSize) : 0;
        const priorities = await threadPriorities();
        expect(priorities.filter((nice) => nice === 10).length).toBeGreaterThanOrEqual(1 + replicas);
        expect(priorities.filter((nice) => nice === own).length).toBeGreaterThanOrEqual(1);
      }

      const second = await start(quick);
      expect(codes(second)).toEqual(['TRAINING_IN_PROGRESS']);
      const status = await gql(app.url, '{ modelStatus { trainingInProgress activeRunId } }');
      expect(status.data!.modelStatus).toEqual({ trainingInProgress: true, activeRunId: runId });
      expect(await (await fetch(`${app.origin}/metrics`)).text()).toMatch(/^training_in_progress 1/m);

      const cancelled = await gql(app.url, `mutation ($id: ID!) { cancelTraining(id: $id) { id } }`, { id: runId }, admin);
      expect(cancelled.errors).toBeUndefined();
      const finished = await progress.waitFor((e) => e.kind === 'FINISHED');
      expect(finished).toMatchObject({ runId, status: 'CANCELLED', modelVersion: null });
      expect(progress.events.every((e) => e.runId === runId)).toBe(true);
      expect(await runStatus(runId)).toBe('CANCELLED');

      const again = await gql(app.url, `mutation ($id: ID!) { cancelTraining(id: $id) { id } }`, { id: runId }, admin);
      expect(codes(again)).toEqual(['RUN_FINISHED']);
      const unknown = await gql(app.url, `mutation { cancelTraining(id: "run-999") { id } }`, {}, admin);
      expect(codes(unknown)).toEqual(['RUN_NOT_FOUND']);
      // Nothing was saved for the cancelled run.
      expect((await gql(app.url, '{ models { versions { version } } }')).data!.models.versions).toEqual([{ version: 'v1' }]);
      progress.stop();
    } finally {
      await client.dispose();
    }
  });

  it('refuses training parameters out of range with BAD_USER_INPUT naming the field', async () => {
    const response = await start({ epochs: 0 });
    expect(response.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BAD_TRAINING_INPUT' });
    expect(response.errors![0].message).toMatch(/epochs/);
    const tooManyMembers = await start({ ensembleMembers: 9 });
    expect(tooManyMembers.errors![0].message).toMatch(/ensembleMembers/);
    expect((await start({ mixup: -0.5 })).errors![0].message).toMatch(/mixup/);
    const unknownArchitecture = await start({ architecture: 'resnet-9000' });
    expect(unknownArchitecture.errors![0].message).toMatch(/architecture/);
    expect(app.services.training.activeRun()).toBeNull();
  });

  it('promotes, rolls back and deletes by the rules', async () => {
    // v2 is a two-network ensemble trained with mixup: once promoted, the inference threads serve it.
    const trained = await start({ ...quick, seed: 9, ensembleMembers: 2, mixup: 0.2 });
    expect(trained.errors).toBeUndefined();
    await app.services.training.whenIdle();
    expect(await runStatus(trained.data!.startTraining.id)).toBe('SUCCEEDED');
    const v2 = (await gql(app.url, '{ model(version: "v2") { weightsFrom epochsCompleted trainingParams { ensembleMembers mixup } } }')).data!.model;
    expect(v2.trainingParams).toEqual({ ensembleMembers: 2, mixup: 0.2 });
    expect(v2.weightsFrom).toMatch(/^mean of 2 members' logits: seed 9 .*; seed 10 /);
    expect(v2.epochsCompleted).toBe(4);
    const listing = await gql(app.url, '{ models { active versions { version active } } }');
    expect(listing.data!.models).toEqual({ active: 'v1', versions: [{ version: 'v1', active: true }, { version: 'v2', active: false }] });

    const promoted = await gql(app.url, `mutation { promoteModel(version: "v2") { version active } }`, {}, admin);
    expect(promoted.data!.promoteModel).toEqual({ version: 'v2', active: true });
    // The served model changed with the promotion.
    const image = await fs.readFile(toy.files[0].path);
    const classified = await gqlUpload(app.url, 'mutation ($i: Upload!) { classify(image: $i, explain: true) { modelVersion probability explanation { layer } } }', { i: null }, { 'variables.i': { bytes: image, name: 'a.jpg' } });
    expect(classified.errors).toBeUndefined();
    expect(classified.data!.classify).toMatchObject({ modelVersion: 'v2', explanation: { layer: 'm1_conv3+m2_conv3' } });

    expect(codes(await gql(app.url, `mutation { deleteModel(version: "v2") { active } }`, {}, admin))).toEqual(['MODEL_ACTIVE']);
    expect(codes(await gql(app.url, `mutation { promoteModel(version: "v9") { version } }`, {}, admin))).toEqual(['MODEL_NOT_FOUND']);
    expect(codes(await gql(app.url, `mutation { deleteModel(version: "v9") { active } }`, {}, admin))).toEqual(['MODEL_NOT_FOUND']);

    const rolledBack = await gql(app.url, `mutation { rollbackModel { version active } }`, {}, admin);
    expect(rolledBack.data!.rollbackModel).toEqual({ version: 'v1', active: true });
    expect((await gql(app.url, '{ modelStatus { activeVersion } }')).data!.modelStatus.activeVersion).toBe('v1');
    expect(codes(await gql(app.url, `mutation { rollbackModel { version } }`, {}, admin))).toEqual(['NO_ROLLBACK_TARGET']);

    const deleted = await gql(app.url, `mutation { deleteModel(version: "v2") { active versions { version } } }`, {}, admin);
    expect(deleted.data!.deleteModel).toEqual({ active: 'v1', versions: [{ version: 'v1' }] });
  });
});

describe('authentication', () => {
  const adminOperations = [
    ['startTraining', `mutation { startTraining { id } }`],
    ['cancelTraining', `mutation { cancelTraining(id: "run-1") { id } }`],
    ['promoteModel', `mutation { promoteModel(version: "v1") { version } }`],
    ['rollbackModel', `mutation { rollbackModel { version } }`],
    ['deleteModel', `mutation { deleteModel(version: "v1") { active } }`],
  ] as const;

  it('refuses every admin mutation over HTTP without a token or with a wrong one', async () => {
    for (const [name, query] of adminOperations) {
      const missing = await gql(app.url, query);
      expect(codes(missing), name).toEqual(['UNAUTHENTICATED']);
      expect(missing.errors![0].message).toMatch(/Authorization: Bearer/);
      const wrong = await gql(app.url, query, {}, { token: `${ADMIN_TOKEN}x` });
      expect(codes(wrong), name).toEqual(['UNAUTHENTICATED']);
      expect(wrong.errors![0].message).toMatch(/not valid/);
      const notBearer = await gql(app.url, query, {}, { headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
      expect(codes(notBearer), name).toEqual(['UNAUTHENTICATED']);
    }
    expect(app.services.training.activeRun()).toBeNull();
    expect((await gql(app.url, '{ models { active versions { version } } }')).data!.models.active).toBe('v1');
  });

  it('refuses the progress subscription over WebSocket without a token or with a wrong one', async () => {
    for (const params of [undefined, { authorization: 'Bearer wrong-token-wrong-token' }, { token: 'wrong-token-wrong-token' }]) {
      const client = wsClient(app.wsUrl, params);
      try {
        const progress = subscribe<ProgressEvent>(client, PROGRESS, {}, (d) => d.trainingProgress);
        await progress.ended;
        expect(progress.events).toEqual([]);
        expect(progress.errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      } finally {
        await client.dispose();
      }
    }
  });

  it('refuses admin operations with a message naming ADMIN_TOKEN when none is configured', async () => {
    const open = await startTestApp({ dataDir: toy.root, modelsDir, storeFile, env: {} });
    await open.modelLoaded;
    try {
      const http = await gql(open.url, `mutation { startTraining { id } }`, {}, admin);
      expect(codes(http)).toEqual(['UNAUTHENTICATED']);
      expect(http.errors![0].message).toMatch(/set ADMIN_TOKEN/);

      const client = wsClient(open.wsUrl, { token: ADMIN_TOKEN });
      try {
        const progress = subscribe<ProgressEvent>(client, PROGRESS);
        await progress.ended;
        expect(progress.errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
        expect(progress.errors[0].message).toMatch(/set ADMIN_TOKEN/);
      } finally {
        await client.dispose();
      }
      // Reading stays open.
      expect((await gql(open.url, '{ modelStatus { activeVersion } }')).data!.modelStatus.activeVersion).toBe('v1');
    } finally {
      await open.close();
    }
  });
});

describe('restart', () => {
  it('keeps the run history and the active model, and marks runs a dead process left open as interrupted', async () => {
    const before = (await gql(app.url, '{ trainingRuns { id status } }')).data!.trainingRuns;
    expect(before.map((r: { status: string }) => r.status)).toEqual(['SUCCEEDED', 'CANCELLED', 'SUCCEEDED']);
    await app.close();

    // What a killed process leaves behind: a run recorded as running that nobody will finish.
    const store = RunStore.open(storeFile);
    const orphan = store.create({ params: { ...defaultTrainingParams, ...quick }, autoPromote: false, trigger: 'api' });
    store.markRunning(orphan.id);
    store.close();

    app = await startTestApp({ dataDir: toy.root, modelsDir, storeFile, env: { ADMIN_TOKEN } });
    await app.modelLoaded;
    const after = (await gql(app.url, '{ trainingRuns { id status errorCode } }')).data!.trainingRuns;
    expect(after.slice(1).map((r: { id: string }) => r.id)).toEqual(before.map((r: { id: string }) => r.id));
    expect(after[0]).toEqual({ id: orphan.id, status: 'INTERRUPTED', errorCode: 'INTERRUPTED' });
    expect(app.logs.some((line) => /marked interrupted/.test(line))).toBe(true);

    const image = await fs.readFile(toy.files[0].path);
    const classified = await gqlUpload(app.url, 'mutation ($i: Upload!) { classify(image: $i) { modelVersion } }', { i: null }, { 'variables.i': { bytes: image, name: 'a.jpg' } });
    expect(classified.errors).toBeUndefined();
    expect(classified.data!.classify.modelVersion).toBe('v1');
    for (const line of app.logs) expect(line).not.toContain(ADMIN_TOKEN);
  });
});
