import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { decodeImage } from '../../server/ml/preprocess.js';
import { createRng } from '../../server/ml/random.js';
import {
  DatasetError,
  datasetFingerprint,
  listImageFolder,
  loadImageFolder,
  makeBatch,
  resolveBinaryClasses,
  subset,
  type DatasetErrorCode,
  type LabelledImages,
} from '../../server/ml/dataset.js';
import { stratifiedSplit } from '../../server/ml/splits.js';
import { createToyDataset, solidImage, type ToyDataset } from '../helpers/images.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const realDataset = path.resolve(repoRoot, '../shared/datasets/skin-lesions');
const hasRealDataset = fs.existsSync(path.join(realDataset, 'train'));

const SIZE = 32;
const PER_CLASS = 10;

let toy: ToyDataset;
let trainDir: string;
let corruptFile: string;
let upperCaseFile: string;
let loaded: LabelledImages;
const progress: [number, number][] = [];

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function expectDatasetError(run: () => unknown, code: DatasetErrorCode): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DatasetError);
  expect((caught as DatasetError).code).toBe(code);
}

beforeAll(async () => {
  await initBackend();
  toy = await createToyDataset({ splits: { train: PER_CLASS }, size: 48, seed: 5 });
  trainDir = toy.splitDir('train');
  // The first half of a real JPEG in the middle of a class folder: must be skipped, not fatal,
  // and the images after it must still land in the right rows ('-' sorts before '.').
  const whole = fs.readFileSync(toy.files[0].path);
  corruptFile = path.join(trainDir, 'benign', '004-corrupt.jpg');
  fs.writeFileSync(corruptFile, whole.subarray(0, whole.length >> 1));
  upperCaseFile = path.join(trainDir, 'benign', 'UPPER.PNG');
  fs.writeFileSync(upperCaseFile, await solidImage(48, 48, [230, 190, 160]));
  // None of these may be listed.
  fs.writeFileSync(path.join(trainDir, 'benign', '.hidden.jpg'), whole);
  fs.writeFileSync(path.join(trainDir, 'benign', 'notes.txt'), 'not an image');
  fs.writeFileSync(path.join(trainDir, 'stray.jpg'), whole);
  fs.mkdirSync(path.join(trainDir, '.thumbnails'));

  loaded = await loadImageFolder(trainDir, { imageSize: SIZE, onProgress: (done, total) => progress.push([done, total]) });
});

afterAll(async () => {
  await toy?.cleanup();
});

describe('listImageFolder', () => {
  it('lists class folders and image files, sorted, without hidden or non-image files', async () => {
    const listing = await listImageFolder(trainDir);
    expect(listing.classNames).toEqual(['benign', 'malignant']);
    const benign = toy.files.filter((f) => f.className === 'benign').map((f) => f.path);
    const expected = [
      ...benign.slice(0, 4),
      corruptFile,
      ...benign.slice(4),
      upperCaseFile,
      ...toy.files.filter((f) => f.className === 'malignant').map((f) => f.path),
    ];
    expect(listing.files.map((f) => f.path)).toEqual(expected);
    expect(listing.files.filter((f) => f.className === 'benign')).toHaveLength(PER_CLASS + 2);
  });

  it('fails with SPLIT_NOT_FOUND for a missing folder', async () => {
    await expect(listImageFolder(path.join(toy.root, 'nope'))).rejects.toMatchObject({ code: 'SPLIT_NOT_FOUND' });
  });
});

describe('resolveBinaryClasses', () => {
  it('recognises the cancerous class by name, in any case and position', () => {
    expect(resolveBinaryClasses(['benign', 'malignant'])).toEqual(['benign', 'malignant']);
    expect(resolveBinaryClasses(['Malignant', 'benign'])).toEqual(['benign', 'Malignant']);
    expect(resolveBinaryClasses(['cancer', 'normal'])).toEqual(['normal', 'cancer']);
    expect(resolveBinaryClasses(['MELANOMA', 'nevus'])).toEqual(['nevus', 'MELANOMA']);
    expect(resolveBinaryClasses(['negative', 'positive'])).toEqual(['negative', 'positive']);
  });

  it('takes an explicit positive class', () => {
    expect(resolveBinaryClasses(['a', 'b'], 'a')).toEqual(['b', 'a']);
    expect(resolveBinaryClasses(['benign', 'malignant'], 'benign')).toEqual(['malignant', 'benign']);
  });

  it('refuses anything but two classes with one clear positive', () => {
    expectDatasetError(() => resolveBinaryClasses(['benign', 'malignant', 'other']), 'WRONG_CLASS_COUNT');
    expectDatasetError(() => resolveBinaryClasses([]), 'WRONG_CLASS_COUNT');
    expectDatasetError(() => resolveBinaryClasses(['a', 'b']), 'NO_POSITIVE_CLASS');
    expectDatasetError(() => resolveBinaryClasses(['melanoma', 'carcinoma']), 'AMBIGUOUS_POSITIVE_CLASS');
    expectDatasetError(() => resolveBinaryClasses(['a', 'b'], 'c'), 'UNKNOWN_POSITIVE_CLASS');
  });
});

describe('loadImageFolder', () => {
  it('loads every good image and skips the corrupt one, naming it', () => {
    expect(loaded.count).toBe(2 * PER_CLASS + 1);
    expect(loaded.skipped).toHaveLength(1);
    expect(loaded.skipped[0].file).toBe(corruptFile);
    expect(loaded.skipped[0].reason).toMatch(/^TRUNCATED_IMAGE/);
    expect(loaded.files).not.toContain(corruptFile);
    expect(loaded.classNames).toEqual(['benign', 'malignant']);
    expect(loaded.size).toBe(SIZE);
    expect(loaded.pixels.length).toBe(loaded.count * SIZE * SIZE * 3);
  });

  it('labels malignant 1 and benign 0, in class-then-name order', () => {
    const expectedLabels = loaded.files.map((f) => (path.basename(path.dirname(f)) === 'malignant' ? 1 : 0));
    expect(Array.from(loaded.labels)).toEqual(expectedLabels);
    expect(Array.from(loaded.labels).filter((l) => l === 1)).toHaveLength(PER_CLASS);
    expect(loaded.files[0]).toBe(toy.files[0].path);
  });

  it('stores each file decoded exactly as decodeImage does, with its sha256', async () => {
    const stride = SIZE * SIZE * 3;
    for (const i of [0, 4, 5, PER_CLASS, loaded.count - 1]) {
      const decoded = await decodeImage(fs.readFileSync(loaded.files[i]), SIZE);
      expect(Buffer.from(loaded.pixels.subarray(i * stride, (i + 1) * stride)).equals(Buffer.from(decoded.pixels))).toBe(true);
    }
    expect(loaded.contentHashes).toEqual(loaded.files.map(sha256));
  });

  it('reports progress up to the total', () => {
    const total = 2 * PER_CLASS + 2;
    expect(progress.at(-1)).toEqual([total, total]);
    for (let i = 1; i < progress.length; i++) expect(progress[i][0]).toBeGreaterThan(progress[i - 1][0]);
  });

  it('gives the same result whatever the concurrency', async () => {
    const serial = await loadImageFolder(trainDir, { imageSize: SIZE, concurrency: 1 });
    expect(Buffer.from(serial.pixels).equals(Buffer.from(loaded.pixels))).toBe(true);
    expect(serial.files).toEqual(loaded.files);
    expect(serial.contentHashes).toEqual(loaded.contentHashes);
  });

  it('fails with a typed error when the folder does not hold two classes', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'three-classes-'));
    try {
      for (const name of ['benign', 'malignant', 'unsure']) fs.mkdirSync(path.join(dir, name));
      await expect(loadImageFolder(dir, { imageSize: SIZE })).rejects.toMatchObject({ name: 'DatasetError', code: 'WRONG_CLASS_COUNT' });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('stratifiedSplit', () => {
  const labels = Uint8Array.from({ length: 100 }, (_, i) => (i % 10 < 3 ? 1 : 0)); // 70 negative, 30 positive

  it('holds out the fraction of each class, disjoint and complete', () => {
    const { train, validation } = stratifiedSplit(labels, 0.2, 1);
    expect(validation.filter((i) => labels[i] === 0)).toHaveLength(14);
    expect(validation.filter((i) => labels[i] === 1)).toHaveLength(6);
    expect([...train, ...validation].sort((a, b) => a - b)).toEqual(Array.from(labels.keys()));
  });

  it('is deterministic for a seed and changes with it', () => {
    expect(stratifiedSplit(labels, 0.2, 1)).toEqual(stratifiedSplit(labels, 0.2, 1));
    expect(stratifiedSplit(labels, 0.2, 2).validation).not.toEqual(stratifiedSplit(labels, 0.2, 1).validation);
  });

  it('gives a small class at least one validation image, never all', () => {
    const few = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    const { train, validation } = stratifiedSplit(few, 0.1, 3);
    expect(validation.filter((i) => few[i] === 1)).toHaveLength(1);
    expect(train.filter((i) => few[i] === 1)).toHaveLength(1);
    expect(stratifiedSplit(few, 0, 3).validation).toEqual([]);
    expect(stratifiedSplit(Uint8Array.from([0, 0, 0, 1]), 0.5, 3).validation.filter((i) => i === 3)).toEqual([]);
  });

  it('rejects fractions outside [0, 1)', () => {
    expect(() => stratifiedSplit(labels, 1, 1)).toThrow(RangeError);
    expect(() => stratifiedSplit(labels, -0.1, 1)).toThrow(RangeError);
  });
});

describe('subset and makeBatch', () => {
  it('subset copies the chosen rows in order', () => {
    const stride = SIZE * SIZE * 3;
    const picked = subset(loaded, [5, 0, loaded.count - 1]);
    expect(picked.count).toBe(3);
    expect(picked.files).toEqual([loaded.files[5], loaded.files[0], loaded.files[loaded.count - 1]]);
    expect(Array.from(picked.labels)).toEqual([loaded.labels[5], loaded.labels[0], loaded.labels[loaded.count - 1]]);
    expect(picked.contentHashes[1]).toBe(loaded.contentHashes[0]);
    expect(Buffer.from(picked.pixels.subarray(0, stride)).equals(Buffer.from(loaded.pixels.subarray(5 * stride, 6 * stride)))).toBe(true);
    expect(picked.pixels.buffer).not.toBe(loaded.pixels.buffer);
    expect(() => subset(loaded, [loaded.count])).toThrow(RangeError);
  });

  it('makeBatch without augmentation gives pixels / 255 and 0/1 targets', () => {
    const indices = [3, PER_CLASS + 2, 0];
    const stride = SIZE * SIZE * 3;
    const { x, y } = makeBatch(loaded, indices, { augment: false });
    try {
      expect(x.shape).toEqual([3, SIZE, SIZE, 3]);
      expect(y.shape).toEqual([3, 1]);
      expect(Array.from(y.dataSync())).toEqual(indices.map((i) => loaded.labels[i]));
      const values = x.dataSync();
      for (const [row, source] of indices.entries()) {
        for (const offset of [0, 1, 1000, stride - 1]) {
          expect(values[row * stride + offset]).toBeCloseTo(loaded.pixels[source * stride + offset] / 255, 6);
        }
      }
    } finally {
      tf.dispose([x, y]);
    }
  });

  it('makeBatch with augmentation stays in [0, 1], repeats for a seed and leaks no tensors', () => {
    const indices = Array.from({ length: 8 }, (_, i) => i * 2);
    const first = makeBatch(loaded, indices, { augment: true, rng: createRng(4) });
    const second = makeBatch(loaded, indices, { augment: true, rng: createRng(4) });
    const plain = makeBatch(loaded, indices, { augment: false });
    try {
      const values = first.x.dataSync();
      expect(values.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Array.from(second.x.dataSync())).toEqual(Array.from(values));
      expect(Array.from(plain.x.dataSync())).not.toEqual(Array.from(values));
    } finally {
      tf.dispose([first.x, first.y, second.x, second.y, plain.x, plain.y]);
    }

    const before = tf.memory().numTensors;
    const rng = createRng(1);
    for (let i = 0; i < 30; i++) {
      const { x, y } = makeBatch(loaded, indices, { augment: i % 2 === 0, rng });
      tf.dispose([x, y]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => makeBatch(loaded, indices, { augment: true })).toThrow(RangeError);
  });
});

describe('datasetFingerprint', () => {
  it('counts images per split and class', () => {
    const fingerprint = datasetFingerprint({ train: loaded });
    expect(fingerprint.counts).toEqual({ train: { benign: PER_CLASS + 1, malignant: PER_CLASS } });
    expect(fingerprint.hash).toMatch(/^[0-9a-f]{64}$/);
    // The manifest: every loaded image's content hash under its class, sorted.
    const hashesOf = (label: number) => loaded.contentHashes.filter((_, i) => loaded.labels[i] === label).sort();
    expect(fingerprint.images).toEqual({ train: { [loaded.classNames[0]]: hashesOf(0), [loaded.classNames[1]]: hashesOf(1) } });
  });

  it('is equal for identical content under other file names, and changes with any image or label', async () => {
    const copy = await fsp.mkdtemp(path.join(os.tmpdir(), 'toy-copy-'));
    try {
      // Same bytes, renamed files, without the corrupt one (it never counted).
      for (const [i, file] of loaded.files.entries()) {
        const className = path.basename(path.dirname(file));
        fs.mkdirSync(path.join(copy, className), { recursive: true });
        fs.copyFileSync(file, path.join(copy, className, `renamed-${String(loaded.count - i).padStart(3, '0')}.jpg`));
      }
      const again = await loadImageFolder(copy, { imageSize: SIZE });
      const original = datasetFingerprint({ train: loaded });
      expect(datasetFingerprint({ train: again })).toEqual(original);

      fs.writeFileSync(path.join(copy, 'benign', 'extra.png'), await solidImage(40, 40, [220, 180, 150]));
      const added = await loadImageFolder(copy, { imageSize: SIZE });
      const withExtra = datasetFingerprint({ train: added });
      expect(withExtra.hash).not.toBe(original.hash);
      expect(withExtra.counts.train.benign).toBe(PER_CLASS + 2);

      // Same images with one label flipped: different data for training.
      const relabelled = { ...loaded, labels: Uint8Array.from(loaded.labels, (l, i) => (i === 0 ? 1 - l : l)) };
      expect(datasetFingerprint({ train: relabelled }).hash).not.toBe(original.hash);
      // The same images under another split name are another dataset too.
      expect(datasetFingerprint({ test: loaded }).hash).not.toBe(original.hash);
    } finally {
      await fsp.rm(copy, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasRealDataset)('the real dermoscopic training split', () => {
  it('loads 1700 images, 772 malignant, at 64 px', async () => {
    const started = performance.now();
    const train = await loadImageFolder(path.join(realDataset, 'train'), { imageSize: 64 });
    const seconds = (performance.now() - started) / 1000;
    console.log(`loadImageFolder train @64px: ${train.count} images in ${seconds.toFixed(2)} s (${((seconds * 1000) / train.count).toFixed(2)} ms/image)`);
    expect(train.count).toBe(1700);
    expect(train.skipped).toEqual([]);
    expect(Array.from(train.labels).filter((l) => l === 1)).toHaveLength(772);
    expect(train.classNames).toEqual(['benign', 'malignant']);
    expect(new Set(train.contentHashes).size).toBeGreaterThan(1690);
  });
});

if (!hasRealDataset) console.warn(`skipping real-data checks: ${realDataset} is absent`);
