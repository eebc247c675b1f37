// The whole feedback loop through the real API: upload labelled images, classify an image the
// server keeps for review, correct it, accept the correction, retrain, and find that the new
// version's dataset manifest differs from the old one by exactly those images.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../server/ml/random.js';
import { createToyDataset, encodeRaw, toyLesionPixels, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, codes, gql, gqlUpload, startTestApp, tempDir, type TestApp } from './helpers.js';

const CLASSIFY = `mutation ($image: Upload!) { classify(image: $image) { label modelVersion predictionId } }`;
const BATCH = `mutation ($images: [Upload!]!) { classifyBatch(images: $images) { index prediction { label predictionId } error { code } } }`;
const SUBMIT = `mutation ($id: String!, $label: String!) { submitFeedback(predictionId: $id, trueLabel: $label) { id status predictedLabel trueLabel classNames } }`;
const QUEUE = `query ($status: FeedbackStatus) { feedbackQueue(status: $status) { id status trueLabel predictedLabel modelVersion fileName thumbnail(size: 32) } pendingFeedbackCount }`;
const ACCEPT = `mutation ($id: String!) { acceptFeedback(id: $id) { id status trueLabel datasetImageId reviewedAt } }`;
const REJECT = `mutation ($id: String!) { rejectFeedback(id: $id) { id status thumbnail } }`;
const ADD = `mutation ($images: [Upload!]!, $label: String!) { addImages(images: $images, label: $label) { added files { status contentHash } } }`;
const TRAIN = `mutation ($input: TrainingInput) { startTraining(input: $input) { id } }`;
const DIFF = /* GraphQL */ `
  query ($from: String!, $to: String!) {
    datasetDiff(from: $from, to: $to) { fromVersion toVersion sameData added removed summary changes { split label before after added removed addedHashes removedHashes } }
  }
`;
// Tiny runs: the point is the data each version saw, not how good it is.
const TINY_TRAINING = { imageSize: 32, epochs: 1, batchSize: 8, seed: 4, augment: false };

let toy: ToyDataset;
let workDir: string;
let app: TestApp;
let env: Record<string, string>;

async function lesion(kind: 'benign' | 'malignant', seed: number): Promise<Buffer> {
  return encodeRaw(toyLesionPixels(40, kind, createRng(seed)), 40, 40, 3, 'png');
}

function start(overrides: Record<string, string> = {}, storeName = 'runs.sqlite'): Promise<TestApp> {
  return startTestApp({ dataDir: toy.root, modelsDir: path.join(workDir, 'models'), storeFile: path.join(workDir, storeName), env: { ...env, ...overrides } });
}

async function classify(bytes: Buffer, name: string) {
  const response = await gqlUpload(app.url, CLASSIFY, { image: null }, { 'variables.image': { bytes, name } });
  expect(response.errors).toBeUndefined();
  return response.data!.classify as { label: string; modelVersion: string; predictionId: string | null };
}

async function train(): Promise<string> {
  const started = await gql(app.url, TRAIN, { input: TINY_TRAINING }, { token: ADMIN_TOKEN });
  expect(started.errors).toBeUndefined();
  await app.services.training.whenIdle();
  const run = app.services.runs.get(started.data!.startTraining.id)!;
  expect(run.status, run.errorMessage ?? '').toBe('succeeded');
  return run.modelVersion!;
}

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 8, test: 3 }, size: 40, seed: 31 });
  workDir = await tempDir('api-feedback-');
  env = { ADMIN_TOKEN, AUTO_TRAIN: 'false', KEEP_CLASSIFIED_IMAGES: 'true', FEEDBACK_DIR: path.join(workDir, 'feedback') };
  app = await start();
});

afterAll(async () => {
  await app?.close();
  await toy?.cleanup();
  if (workDir) await fs.rm(workDir, { recursive: true, force: true });
});

describe('the feedback loop', () => {
  let v1: string;
  const expectedAdded: Record<string, string[]> = { benign: [], malignant: [] };

  it('trains a first version whose manifest lists every image by content hash', async () => {
    v1 = await train();
    const metadata = (await app.services.models.getVersion(v1))!;
    const manifest = metadata.datasetFingerprint!.images!;
    expect(Object.keys(manifest).sort()).toEqual(['test', 'train']);
    expect(manifest.train.malignant).toHaveLength(8);
    expect(manifest.test.benign).toHaveLength(3);
  });

  it('adds labelled images, and a correction of a kept prediction is accepted into the training set', async () => {
    const uploads = [
      { bytes: await lesion('malignant', 501), name: 'm1.png', label: 'malignant' },
      { bytes: await lesion('malignant', 502), name: 'm2.png', label: 'malignant' },
      { bytes: await lesion('benign', 503), name: 'b1.png', label: 'benign' },
    ];
    for (const label of ['malignant', 'benign'] as const) {
      const files = uploads.filter((u) => u.label === label);
      const response = await gqlUpload(app.url, ADD, { images: files.map(() => null), label }, Object.fromEntries(files.map((f, i) => [`variables.images.${i}`, f])), { token: ADMIN_TOKEN });
      expect(response.errors).toBeUndefined();
      expect(response.data!.addImages.added).toBe(files.length);
      expectedAdded[label].push(...response.data!.addImages.files.map((f: { contentHash: string }) => f.contentHash));
    }

    const prediction = await classify(await lesion('malignant', 504), 'visit-3.png');
    expect(prediction.modelVersion).toBe(v1);
    expect(prediction.predictionId).toMatch(/^pred-[0-9a-f]{32}$/);
    const id = prediction.predictionId!;
    expect(await fs.readdir(env.FEEDBACK_DIR)).toHaveLength(1);

    // Anyone who may classify may correct; the label must be one of the model's classes.
    const wrongLabel = await gql(app.url, SUBMIT, { id, label: 'nevus' });
    expect(codes(wrongLabel)).toEqual(['BAD_USER_INPUT']);
    expect(wrongLabel.errors![0].extensions!.reason).toBe('BAD_LABEL');
    expect(codes(await gql(app.url, SUBMIT, { id: 'pred-00000000000000000000000000000000', label: 'malignant' }))).toEqual(['PREDICTION_NOT_FOUND']);
    const submitted = await gql(app.url, SUBMIT, { id, label: 'Malignant' });
    expect(submitted.errors).toBeUndefined();
    expect(submitted.data!.submitFeedback).toMatchObject({ id, status: 'PENDING', predictedLabel: prediction.label, trueLabel: 'malignant', classNames: ['benign', 'malignant'] });

    // The review queue is admin-only and survives a restart.
    expect(codes(await gql(app.url, QUEUE, {}))).toEqual(['UNAUTHENTICATED']);
    await app.close();
    app = await start();
    await app.modelLoaded;
    const queue = await gql(app.url, QUEUE, {}, { token: ADMIN_TOKEN });
    expect(queue.errors).toBeUndefined();
    expect(queue.data!.pendingFeedbackCount).toBe(1);
    expect(queue.data!.feedbackQueue).toEqual([
      { id, status: 'PENDING', trueLabel: 'malignant', predictedLabel: prediction.label, modelVersion: v1, fileName: 'visit-3.png', thumbnail: expect.stringMatching(/^data:image\/webp;base64,/) },
    ]);

    const accepted = await gql(app.url, ACCEPT, { id }, { token: ADMIN_TOKEN });
    expect(accepted.errors).toBeUndefined();
    const item = accepted.data!.acceptFeedback;
    expect(item).toMatchObject({ id, status: 'ACCEPTED', trueLabel: 'malignant', reviewedAt: expect.any(String) });
    expect(item.datasetImageId).toMatch(/^train\/malignant\/[0-9a-f]{64}\.png$/);
    await expect(fs.stat(path.join(toy.root, item.datasetImageId))).resolves.toBeTruthy();
    expect(await fs.readdir(env.FEEDBACK_DIR)).toEqual([]);
    expectedAdded.malignant.push(path.basename(item.datasetImageId, '.png'));

    expect(codes(await gql(app.url, ACCEPT, { id }, { token: ADMIN_TOKEN }))).toEqual(['FEEDBACK_NOT_PENDING']);
    expect(codes(await gql(app.url, SUBMIT, { id, label: 'benign' }))).toEqual(['FEEDBACK_NOT_PENDING']);
  });

  it('a rejected correction deletes the kept image and changes nothing in the dataset', async () => {
    const before = (await app.services.datasets.index.list()).images.length;
    const { predictionId } = await classify(await lesion('benign', 601), 'other.png');
    await gql(app.url, SUBMIT, { id: predictionId, label: 'malignant' });
    const rejected = await gql(app.url, REJECT, { id: predictionId }, { token: ADMIN_TOKEN });
    expect(rejected.errors).toBeUndefined();
    expect(rejected.data!.rejectFeedback).toEqual({ id: predictionId, status: 'REJECTED', thumbnail: null });
    expect(await fs.readdir(env.FEEDBACK_DIR)).toEqual([]);
    expect((await app.services.datasets.index.list()).images).toHaveLength(before);
  });

  it('kept images nobody corrected are deleted after the retention time', async () => {
    const { predictionId } = await classify(await lesion('benign', 701), 'forgotten.png');
    expect(await fs.readdir(env.FEEDBACK_DIR)).toHaveLength(1);
    expect(await app.services.feedback.purgeExpired(Date.now() + 73 * 3_600_000)).toBe(1);
    expect(await fs.readdir(env.FEEDBACK_DIR)).toEqual([]);
    expect(codes(await gql(app.url, SUBMIT, { id: predictionId, label: 'benign' }))).toEqual(['PREDICTION_NOT_FOUND']);
  });

  it('sweeps files no record names (left by a crash between writing and recording) once they are old, and nothing else', async () => {
    const { predictionId } = await classify(await lesion('benign', 751), 'kept.png');
    const orphan = path.join(env.FEEDBACK_DIR, 'pred-0123456789abcdef0123456789abcdef.png');
    const temp = path.join(env.FEEDBACK_DIR, '.tmp-half-written');
    await fs.writeFile(orphan, 'an image nobody recorded');
    await fs.writeFile(temp, 'half');
    // Young files may belong to a write in progress: kept.
    await app.services.feedback.purgeExpired(Date.now());
    expect((await fs.readdir(env.FEEDBACK_DIR)).length).toBe(3);
    expect(await app.services.feedback.purgeExpired(Date.now() + 11 * 60_000)).toBe(0);
    const left = await fs.readdir(env.FEEDBACK_DIR);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^${predictionId}\\.`));
    expect(await app.services.feedback.purgeExpired(Date.now() + 73 * 3_600_000)).toBe(1);
  });

  it('keeps each image of a classifyBatch too, under its own prediction id', async () => {
    const files = { 'variables.images.0': { bytes: await lesion('benign', 901), name: 'a.png' }, 'variables.images.1': { bytes: await lesion('malignant', 902), name: 'b.png' } };
    const response = await gqlUpload(app.url, BATCH, { images: [null, null] }, files);
    expect(response.errors).toBeUndefined();
    const items = response.data!.classifyBatch as { prediction: { predictionId: string | null } | null; error: unknown }[];
    const ids = items.map((item) => item.prediction!.predictionId!);
    expect(ids.every((id) => /^pred-[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(2);
    expect(await fs.readdir(env.FEEDBACK_DIR)).toHaveLength(2);
    const submitted = await gql(app.url, SUBMIT, { id: ids[1], label: 'malignant' });
    expect(submitted.data!.submitFeedback).toMatchObject({ id: ids[1], status: 'PENDING', trueLabel: 'malignant' });
    // Leave nothing behind for the tests after this one.
    await gql(app.url, REJECT, { id: ids[1] }, { token: ADMIN_TOKEN });
    expect(await app.services.feedback.purgeExpired(Date.now() + 73 * 3_600_000)).toBe(1);
    expect(await fs.readdir(env.FEEDBACK_DIR)).toEqual([]);
  });

  it('a retrained version saw exactly the added and accepted images more than the first', async () => {
    const v2 = await train();
    expect(v2).not.toBe(v1);
    const { data, errors } = await gql(app.url, DIFF, { from: v1, to: v2 });
    expect(errors).toBeUndefined();
    const diff = data!.datasetDiff;
    expect(diff).toMatchObject({ fromVersion: v1, toVersion: v2, sameData: false, added: 4, removed: 0 });
    expect(diff.summary).toBe(`${v2} saw 1 more benign training image, 3 more malignant training images than ${v1}`);
    const change = (split: string, label: string) => diff.changes.find((c: any) => c.split === split && c.label === label);
    expect(change('train', 'malignant')).toEqual({ split: 'train', label: 'malignant', before: 8, after: 11, added: 3, removed: 0, addedHashes: [...expectedAdded.malignant].sort(), removedHashes: [] });
    expect(change('train', 'benign')).toMatchObject({ before: 8, after: 9, addedHashes: expectedAdded.benign, removedHashes: [] });
    expect(change('test', 'benign')).toMatchObject({ before: 3, after: 3, added: 0, removed: 0 });

    const backwards = await gql(app.url, DIFF, { from: v2, to: v1 });
    expect(backwards.data!.datasetDiff).toMatchObject({ added: 0, removed: 4 });
    expect(codes(await gql(app.url, DIFF, { from: v1, to: 'v99' }))).toEqual(['MODEL_NOT_FOUND']);
  });

  it('keeps nothing unless configured to', async () => {
    await app.close();
    app = await start({ KEEP_CLASSIFIED_IMAGES: '' }, 'other.sqlite');
    await app.modelLoaded;
    const { predictionId } = await classify(await lesion('malignant', 801), 'private.png');
    expect(predictionId).toBeNull();
    expect(await fs.readdir(env.FEEDBACK_DIR)).toEqual([]);
  });
});
