// A whole training run: through the pipeline in this thread, and through a worker thread
// the way the service runs it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../server/ml/backend.js';
import { defaultTrainingParams, type TrainingParams } from '../../server/ml/types.js';
import { runTraining } from '../../server/training/pipeline.js';
import { TrainingJob } from '../../server/training/training-job.js';
import type { TrainingEvent, TrainingRequest } from '../../server/training/training-events.js';
import { ModelRegistry } from '../../server/registry/model-registry.js';
import { Classifier } from '../../server/ml/classifier.js';
import { Screener } from '../../server/ml/screening.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';

let toy: ToyDataset;
const tempDirs: string[] = [];

function modelsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'models-'));
  tempDirs.push(dir);
  return dir;
}

function request(overrides: Partial<TrainingParams> = {}, dir = modelsDir()): TrainingRequest {
  return {
    dataDir: toy.root,
    modelsDir: dir,
    autoPromote: false,
    params: { ...defaultTrainingParams, imageSize: 32, epochs: 4, batchSize: 16, seed: 11, validationFraction: 0.25, ...overrides },
  };
}

beforeAll(async () => {
  await initBackend();
  toy = await createToyDataset({ splits: { train: 32, test: 10 }, size: 48, seed: 5 });
});

afterAll(async () => {
  await toy?.cleanup();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('runTraining', () => {
  it('trains, measures on the test split, saves an active version that classifies new images', async () => {
    const events: TrainingEvent[] = [];
    const req = request();
    const { model, activated } = await runTraining(req, (e) => events.push(e));

    expect(activated).toBe(true);
    expect(model.version).toBe('v1');
    expect(model.classNames).toEqual(['benign', 'malignant']);
    expect(model.metrics.test?.n).toBe(20);
    expect(model.metrics.test?.auc).toBeGreaterThan(0.9);
    expect(model.metrics.validation?.sensitivity).toBeGreaterThanOrEqual(req.params.targetSensitivity);
    expect(model.datasetFingerprint?.counts).toEqual({ train: { benign: 32, malignant: 32 }, test: { benign: 10, malignant: 10 } });
    expect(events.map((e) => e.type)).toContain('epoch');
    expect(events.at(-1)?.type).toBe('succeeded');

    const registry = new ModelRegistry(req.modelsDir);
    expect(await registry.activeVersion()).toBe('v1');
    const loaded = await registry.load('v1');
    const classifier = new Classifier(loaded.model, loaded.metadata);
    const malignant = toy.files.find((f) => f.split === 'test' && f.className === 'malignant')!;
    const benign = toy.files.find((f) => f.split === 'test' && f.className === 'benign')!;
    expect((await classifier.classify(fs.readFileSync(malignant.path))).label).toBe('malignant');
    expect((await classifier.classify(fs.readFileSync(benign.path))).label).toBe('benign');
    classifier.dispose();
  });

  it('saves an ensemble as one version that loads, screens (guard included) and explains like any other', async () => {
    const events: TrainingEvent[] = [];
    const req = request({ ensembleMembers: 2, epochs: 3 });
    const { model } = await runTraining(req, (e) => events.push(e));
    expect(model.trainingParams.ensembleMembers).toBe(2);
    expect(model.weightsFrom).toMatch(/^mean of 2 members' logits: seed 11 epoch [123] of 3 .*; seed 12 epoch [123] of 3/);
    expect(model.epochsCompleted).toBe(6);
    expect(events.filter((e) => e.type === 'epoch').map((e) => (e.type === 'epoch' ? e.epoch : 0))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(model.metrics.test?.auc).toBeGreaterThan(0.9);
    expect(model.inputGuard).toBeDefined();

    const loaded = await new ModelRegistry(req.modelsDir).load(model.version);
    expect(loaded.model.layers.some((layer) => layer.name === 'm2_conv1')).toBe(true);
    const screener = new Screener(new Classifier(loaded.model, loaded.metadata));
    try {
      const malignant = toy.files.find((f) => f.split === 'test' && f.className === 'malignant')!;
      const result = await screener.screen(fs.readFileSync(malignant.path), { explain: true });
      expect(result.label).toBe('malignant');
      expect(result.explanation?.map.layer).toBe('m1_conv3+m2_conv3');
      expect(result.guard.status).toBe('passed');
      expect(result.guard.distance).toBeGreaterThan(0);
    } finally {
      screener.classifier.dispose();
    }
  });

  it('keeps the active version when a later run is not promoted', async () => {
    const dir = modelsDir();
    await runTraining(request({ epochs: 1 }, dir), () => {});
    const second = await runTraining(request({ epochs: 1, seed: 12 }, dir), () => {});
    expect(second.model.version).toBe('v2');
    expect(second.activated).toBe(false);
    expect(await new ModelRegistry(dir).activeVersion()).toBe('v1');
  });

  it('fails with NO_TRAINING_DATA when the folder has no train split', async () => {
    const req = { ...request(), dataDir: path.join(toy.root, 'nowhere') };
    await expect(runTraining(req, () => {})).rejects.toMatchObject({ code: 'NO_TRAINING_DATA' });
  });
});

describe('TrainingJob (worker thread)', () => {
  it('streams progress while the main event loop stays responsive', async () => {
    const req = request({ epochs: 3 });
    const job = new TrainingJob(req);
    const events: TrainingEvent[] = [];
    job.onEvent((e) => events.push(e));

    // The main thread keeps ticking while the worker trains: record the longest gap.
    let last = performance.now();
    let longestGapMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 5);
    const outcome = await job.done;
    clearInterval(ticker);

    expect(outcome.status).toBe('succeeded');
    const batches = events.filter((e) => e.type === 'batch');
    const epochs = events.filter((e) => e.type === 'epoch');
    expect(epochs).toHaveLength(3);
    expect(batches.length).toBeGreaterThanOrEqual(3 * 3);
    expect(longestGapMs).toBeLessThan(500);
    expect(fs.existsSync(path.join(req.modelsDir, 'v1', 'weights.bin'))).toBe(true);
  });

  it('cancels cleanly: no version is saved', async () => {
    const req = request({ epochs: 20 });
    const job = new TrainingJob(req);
    job.onEvent((e) => {
      if (e.type === 'batch' && e.batch === 2) job.cancel();
    });
    const outcome = await job.done;
    expect(outcome.status).toBe('cancelled');
    const { versions } = await new ModelRegistry(req.modelsDir).list();
    expect(versions).toHaveLength(0);
  });

  it('reports a failed run with its error code', async () => {
    const job = new TrainingJob({ ...request(), params: { ...request().params, architecture: 'no-such-net' } });
    const outcome = await job.done;
    expect(outcome).toMatchObject({ status: 'failed', code: 'UNKNOWN_ARCHITECTURE' });
  });
});
