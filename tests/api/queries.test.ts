// The read-only API over real HTTP: model status, versions with their metrics, the dataset and
// the training history, against a server that trained a model on a toy dataset.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEIGHTS_FILE } from '../../server/ml/model-io.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, codes, gql, startTestApp, tempDir, trainThroughService, type TestApp } from './helpers.js';

const METRICS = /* GraphQL */ `
  fragment Metrics on ModelMetrics {
    n positives auc accuracy balancedAccuracy sensitivity specificity threshold ece
    confusionMatrix { tp fp tn fn }
    roc { fpr tpr threshold }
    calibration { lower upper count meanPredicted fractionPositive }
  }
`;
const VERSION = /* GraphQL */ `
  fragment Version on ModelVersion {
    version architecture imageSize classNames positiveClass threshold createdAt active backend trainingSeconds epochsCompleted weightsFrom
    trainingParams { architecture imageSize epochs batchSize learningRate seed validationFraction classWeighting augment earlyStoppingPatience targetSensitivity averageEpochs groupNearDuplicates }
    datasetFingerprint { hash counts { split total classes { name count } } }
    validationMetrics { ...Metrics }
    testMetrics { ...Metrics }
  }
  ${METRICS}
`;

let toy: ToyDataset;
let app: TestApp;
let modelsDir: string;
let runId: string;

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 24, test: 8 }, size: 48, seed: 8 });
  // A file training ignores, which the dataset summary reports.
  await fs.writeFile(path.join(toy.root, 'train', 'benign', 'notes.txt'), 'not an image');
  modelsDir = await tempDir('api-models-');
  app = await startTestApp({ dataDir: toy.root, modelsDir, storeFile: path.join(modelsDir, 'runs.sqlite'), env: { ADMIN_TOKEN } });
  runId = await trainThroughService(app, { epochs: 2, seed: 5 });
});

afterAll(async () => {
  await app?.close();
  await toy?.cleanup();
  if (modelsDir) await fs.rm(modelsDir, { recursive: true, force: true });
});

describe('queries', () => {
  it('modelStatus: ready, with the active version, classes, threshold and backend', async () => {
    const { data, errors } = await gql(
      app.url,
      `{ modelStatus { ready reason activeVersion imageSize classes positiveClass threshold trainingInProgress activeRunId backend { name threads simd fallbackReason } } }`,
    );
    expect(errors).toBeUndefined();
    expect(data!.modelStatus).toMatchObject({
      ready: true,
      reason: null,
      activeVersion: 'v1',
      imageSize: 32,
      classes: ['benign', 'malignant'],
      positiveClass: 'malignant',
      trainingInProgress: false,
      activeRunId: null,
      backend: { name: 'wasm', threads: expect.any(Number) },
    });
    expect(data!.modelStatus.threshold).toBeGreaterThan(0);
    expect(data!.modelStatus.threshold).toBeLessThan(1);
    expect(typeof data!.modelStatus.backend.simd).toBe('boolean');
    expect(data!.modelStatus.backend.threads).toBeGreaterThanOrEqual(1);
  });

  it('models: every version with its parameters, data fingerprint and validation and test metrics', async () => {
    const { data, errors } = await gql(app.url, `{ models { active damaged { version reason } versions { ...Version } } } ${VERSION}`);
    expect(errors).toBeUndefined();
    const { models } = data!;
    expect(models.active).toBe('v1');
    expect(models.damaged).toEqual([]);
    expect(models.versions).toHaveLength(1);
    const v1 = models.versions[0];
    expect(v1).toMatchObject({
      version: 'v1',
      architecture: 'original-cnn',
      imageSize: 32,
      classNames: ['benign', 'malignant'],
      positiveClass: 'malignant',
      active: true,
      backend: 'wasm',
      epochsCompleted: 2,
      weightsFrom: expect.stringMatching(/^epoch [12] of 2$/),
      trainingParams: { imageSize: 32, epochs: 2, batchSize: 8, seed: 5, architecture: 'original-cnn', averageEpochs: 0, groupNearDuplicates: true },
    });
    expect(Date.parse(v1.createdAt)).not.toBeNaN();
    expect(v1.trainingSeconds).toBeGreaterThan(0);
    expect(v1.datasetFingerprint.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(v1.datasetFingerprint.counts).toEqual([
      { split: 'test', total: 16, classes: [{ name: 'benign', count: 8 }, { name: 'malignant', count: 8 }] },
      { split: 'train', total: 48, classes: [{ name: 'benign', count: 24 }, { name: 'malignant', count: 24 }] },
    ]);

    const test = v1.testMetrics;
    expect(test.n).toBe(16);
    expect(test.positives).toBe(8);
    const { tp, fp, tn, fn } = test.confusionMatrix;
    expect(tp + fp + tn + fn).toBe(16);
    expect(tp + fn).toBe(8);
    expect(test.sensitivity).toBeCloseTo(tp / 8, 10);
    expect(test.auc).toBeGreaterThanOrEqual(0);
    expect(test.auc).toBeLessThanOrEqual(1);
    expect(test.threshold).toBe(v1.threshold);
    expect(test.roc.length).toBeGreaterThan(1);
    expect(test.calibration.reduce((s: number, b: { count: number }) => s + b.count, 0)).toBe(16);
    expect(v1.validationMetrics.n).toBeGreaterThan(0);
  });

  it('model(version): one version, or null for an unknown name', async () => {
    const found = await gql(app.url, `query ($v: String!) { model(version: $v) { version active testMetrics { n } } }`, { v: 'v1' });
    expect(found.data!.model).toEqual({ version: 'v1', active: true, testMetrics: { n: 16 } });
    const missing = await gql(app.url, `query ($v: String!) { model(version: $v) { version } }`, { v: 'v42' });
    expect(missing.errors).toBeUndefined();
    expect(missing.data!.model).toBeNull();
  });

  it('dataset: images per split and class, and the files training ignores', async () => {
    const { data, errors } = await gql(app.url, `{ dataset { root skippedFiles splits { split total classes { name count } } } }`);
    expect(errors).toBeUndefined();
    expect(data!.dataset).toEqual({
      root: toy.root,
      skippedFiles: [path.join('train', 'benign', 'notes.txt')],
      splits: [
        { split: 'test', total: 16, classes: [{ name: 'benign', count: 8 }, { name: 'malignant', count: 8 }] },
        { split: 'train', total: 48, classes: [{ name: 'benign', count: 24 }, { name: 'malignant', count: 24 }] },
      ],
    });
  });

  it('trainingRuns and trainingRun: the finished run with its parameters, epochs and metrics', async () => {
    const list = await gql(
      app.url,
      `query ($status: RunStatus) { trainingRuns(limit: 10, status: $status) {
        id status trigger autoPromote createdAt startedAt finishedAt errorCode errorMessage modelVersion activated
        params { epochs imageSize } epochs { epoch loss accuracy validationLoss validationAccuracy validationAuc learningRate seconds imagesPerSecond }
        testMetrics { n } validationMetrics { n } } }`,
      { status: 'SUCCEEDED' },
    );
    expect(list.errors).toBeUndefined();
    expect(list.data!.trainingRuns).toHaveLength(1);
    const run = list.data!.trainingRuns[0];
    expect(run).toMatchObject({
      id: runId,
      status: 'SUCCEEDED',
      trigger: 'API',
      autoPromote: false,
      errorCode: null,
      errorMessage: null,
      modelVersion: 'v1',
      activated: true,
      params: { epochs: 2, imageSize: 32 },
      testMetrics: { n: 16 },
    });
    expect(run.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    expect(run.epochs[0].loss).toBeGreaterThan(0);
    expect(Date.parse(run.finishedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));

    const none = await gql(app.url, `{ trainingRuns(status: FAILED) { id } }`);
    expect(none.data!.trainingRuns).toEqual([]);

    const one = await gql(app.url, `query ($id: ID!) { trainingRun(id: $id) { id status } }`, { id: runId });
    expect(one.data!.trainingRun).toEqual({ id: runId, status: 'SUCCEEDED' });
    const unknown = await gql(app.url, `{ trainingRun(id: "run-999") { id } }`);
    expect(unknown.data!.trainingRun).toBeNull();
  });

  it('lists a damaged version with the reason, and refuses to promote it', async () => {
    // A copy of v1 whose weights were cut short, as a crash or a bad disk would leave them.
    const damaged = path.join(modelsDir, 'v5');
    await fs.cp(path.join(modelsDir, 'v1'), damaged, { recursive: true });
    const weights = path.join(damaged, WEIGHTS_FILE);
    await fs.truncate(weights, (await fs.stat(weights)).size - 10);

    const { data } = await gql(app.url, '{ models { active versions { version } damaged { version reason } } }');
    expect(data!.models.active).toBe('v1');
    expect(data!.models.versions).toEqual([{ version: 'v1' }]);
    expect(data!.models.damaged).toEqual([{ version: 'v5', reason: expect.stringMatching(/weights/) }]);
    expect((await gql(app.url, '{ model(version: "v5") { version } }')).data!.model).toBeNull();

    const promote = await gql(app.url, 'mutation { promoteModel(version: "v5") { version } }', {}, { token: ADMIN_TOKEN });
    expect(codes(promote)).toEqual(['DAMAGED_MODEL']);
    await fs.rm(damaged, { recursive: true });
  });

  it('refuses an out-of-range page size with BAD_USER_INPUT', async () => {
    const response = await gql(app.url, `{ trainingRuns(limit: 0) { id } }`);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
  });
});
