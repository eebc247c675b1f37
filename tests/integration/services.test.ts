// The application services the API calls, through real parts: worker-thread training,
// SQLite run records, the model registry on disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../server/ml/backend.js';
import { ModelRegistry } from '../../server/registry/model-registry.js';
import { RunStore } from '../../server/store/run-store.js';
import { ModelService } from '../../server/services/model-service.js';
import { TrainingService, type TrainingInput, type TrainingProgressEvent } from '../../server/services/training-service.js';
import { summarizeDataset } from '../../server/services/dataset-summary.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';

// Plumbing, not model quality: the smallest network keeps these runs short.
const quick: TrainingInput = { imageSize: 32, epochs: 3, batchSize: 16, seed: 5, architecture: 'original-cnn' };
let toy: ToyDataset;
const cleanups: Array<() => Promise<void>> = [];

function setup() {
  const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-models-'));
  const store = RunStore.open(':memory:');
  const models = new ModelService({ registry: new ModelRegistry(modelsDir) });
  const events: TrainingProgressEvent[] = [];
  const training = new TrainingService({
    store,
    models,
    dataDir: toy.root,
    modelsDir,
    backend: {},
    publish: (e) => events.push(e),
    startupTraining: quick,
  });
  cleanups.push(async () => {
    await models.close();
    store.close();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });
  return { modelsDir, store, models, training, events };
}

beforeAll(async () => {
  await initBackend();
  toy = await createToyDataset({ splits: { train: 24, test: 8 }, size: 48, seed: 21 });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(() => toy?.cleanup());

const image = (split: string, className: string) => fs.readFileSync(toy.files.find((f) => f.split === split && f.className === className)!.path);

describe('ModelService and TrainingService', () => {
  it('say why no model serves, then train one at start-up, record it and serve it', async () => {
    const { store, models, training, events } = setup();
    await models.start();
    expect(models.status()).toMatchObject({ ready: false, activeVersion: null });
    expect(models.status().reason).toMatch(/no model/);
    await expect(models.classify(image('test', 'benign'))).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });

    const run = await training.autoTrainIfNeeded();
    expect(run).toMatchObject({ status: 'running', trigger: 'startup' });
    expect(() => training.start(quick)).toThrowError(expect.objectContaining({ code: 'TRAINING_IN_PROGRESS' }));
    await training.whenIdle();

    const record = store.get(run!.id)!;
    expect(record).toMatchObject({ status: 'succeeded', modelVersion: 'v1', activated: true });
    expect(record.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(record.metrics?.test?.n).toBe(16);
    const kinds = new Set(events.map((e) => e.kind));
    expect([...kinds]).toEqual(expect.arrayContaining(['queued', 'stage', 'data', 'batch', 'epoch', 'finished']));
    expect(events.at(-1)).toMatchObject({ kind: 'finished', status: 'succeeded', modelVersion: 'v1', activated: true });

    expect(models.status()).toMatchObject({ ready: true, activeVersion: 'v1', imageSize: 32, positiveClass: 'malignant' });
    const result = await models.classify(image('test', 'malignant'));
    expect(result).toMatchObject({ label: 'malignant', modelVersion: 'v1' });
    expect(result.disclaimer).toMatch(/not a diagnosis/);

    const batch = await models.classifyMany([image('test', 'benign'), Buffer.from('not an image'), image('test', 'malignant')]);
    expect(batch[0]).toMatchObject({ label: 'benign' });
    expect(batch[1]).toEqual({ error: expect.objectContaining({ code: 'NOT_AN_IMAGE' }) });
    expect(batch[2]).toMatchObject({ label: 'malignant' });

    expect(await training.autoTrainIfNeeded()).toBeNull();
  });

  it('refuses bad parameters by naming the field, and cancels a run cleanly', async () => {
    const { store, training, events } = setup();
    expect(() => training.start({ learningRate: Number.NaN })).toThrowError(expect.objectContaining({ code: 'BAD_TRAINING_INPUT', message: expect.stringContaining('learningRate') }));
    expect(() => training.start({ architecture: 'resnet-9000' })).toThrowError(expect.objectContaining({ code: 'BAD_TRAINING_INPUT' }));
    expect(() => training.cancel('run-404')).toThrowError(expect.objectContaining({ code: 'RUN_NOT_FOUND' }));

    const run = training.start({ ...quick, epochs: 50 });
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (events.some((e) => e.kind === 'batch')) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    training.cancel(run.id);
    await training.whenIdle();
    expect(store.get(run.id)).toMatchObject({ status: 'cancelled', modelVersion: null });
    expect(events.at(-1)).toMatchObject({ kind: 'finished', status: 'cancelled' });
    expect(() => training.cancel(run.id)).toThrowError(expect.objectContaining({ code: 'RUN_FINISHED' }));
    expect(training.activeRun()).toBeNull();
  });

  it('promotes and rolls back versions and serves each at once', async () => {
    const { models, training } = setup();
    await models.start();
    training.start(quick);
    await training.whenIdle();
    const second = training.start({ ...quick, seed: 6 });
    await training.whenIdle();
    expect(models.status().activeVersion).toBe('v1');
    expect(second.id).not.toBe('');

    await models.promote('v2');
    expect(models.status().activeVersion).toBe('v2');
    expect((await models.classify(image('test', 'benign'))).modelVersion).toBe('v2');
    await expect(models.delete('v2')).rejects.toMatchObject({ code: 'MODEL_ACTIVE' });

    await models.rollback();
    expect(models.status().activeVersion).toBe('v1');
    await models.delete('v2');
    expect((await models.listVersions()).versions.map((v) => v.version)).toEqual(['v1']);
    await expect(models.promote('v2')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('summarises the dataset by split and class without decoding', async () => {
    fs.writeFileSync(path.join(toy.root, 'train', 'benign', 'notes.txt'), 'scanned by dr. x');
    const summary = await summarizeDataset(toy.root);
    fs.rmSync(path.join(toy.root, 'train', 'benign', 'notes.txt'));
    expect(summary.splits).toEqual([
      { split: 'test', classes: [{ name: 'benign', count: 8 }, { name: 'malignant', count: 8 }], total: 16 },
      { split: 'train', classes: [{ name: 'benign', count: 24 }, { name: 'malignant', count: 24 }], total: 48 },
    ]);
    expect(summary.skippedFiles).toEqual([path.join('train', 'benign', 'notes.txt')]);
  });
});
