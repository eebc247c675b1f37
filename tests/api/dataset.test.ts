// Managing the image folder through the real API: labelled uploads (re-encoded, content-hashed,
// duplicates and bad files reported), paging with cursors and thumbnails, relabel / move /
// remove, zip import, and the summary's balance, size and leakage findings.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { sha256Hex } from '../../server/dataset/image-intake.js';
import { createRng } from '../../server/ml/random.js';
import { createToyDataset, encodeRaw, toyLesionPixels, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, codes, gql, gqlUpload, startTestApp, tempDir, type TestApp } from './helpers.js';

const ADD = /* GraphQL */ `
  mutation ($images: [Upload!]!, $label: String!, $split: Split) {
    addImages(images: $images, label: $label, split: $split) {
      added duplicates rejected
      files { index name status split label imageId contentHash duplicateOf error { code reason message } }
    }
  }
`;
const COUNTS = /* GraphQL */ `{ dataset { splits { split total classes { name count } } } }`;
const PAGE = /* GraphQL */ `
  query ($split: Split, $label: String, $first: Int, $after: String) {
    datasetImages(split: $split, label: $label, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id split label fileName contentHash bytes width height format thumbnail(size: 64) } }
    }
  }
`;

let toy: ToyDataset;
let app: TestApp;
let workDir: string;

async function lesion(kind: 'benign' | 'malignant', seed: number, format: 'png' | 'jpeg' = 'png', size = 48): Promise<Buffer> {
  return encodeRaw(toyLesionPixels(size, kind, createRng(seed)), size, size, 3, format);
}

async function counts(): Promise<Record<string, Record<string, number>>> {
  const { data } = await gql(app.url, COUNTS);
  const out: Record<string, Record<string, number>> = {};
  for (const split of data!.dataset.splits) out[split.split] = Object.fromEntries(split.classes.map((c: { name: string; count: number }) => [c.name, c.count]));
  return out;
}

function upload(files: { bytes: Buffer; name: string }[], variables: Record<string, unknown>) {
  const map = Object.fromEntries(files.map((file, i) => [`variables.images.${i}`, file]));
  return gqlUpload(app.url, ADD, { images: files.map(() => null), ...variables }, map, { token: ADMIN_TOKEN });
}

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 6, test: 3 }, size: 48, seed: 21 });
  workDir = await tempDir('api-dataset-');
  app = await startTestApp({ dataDir: toy.root, modelsDir: path.join(workDir, 'models'), storeFile: path.join(workDir, 'runs.sqlite'), env: { ADMIN_TOKEN, AUTO_TRAIN: 'false' } });
});

afterAll(async () => {
  await app?.close();
  await toy?.cleanup();
  if (workDir) await fs.rm(workDir, { recursive: true, force: true });
});

describe('addImages', () => {
  it('stores new images re-encoded under their sha256, reports duplicates and bad files, and the counts change', async () => {
    const before = await counts();
    const fresh = await Promise.all([lesion('malignant', 101), lesion('malignant', 102, 'jpeg'), lesion('malignant', 103)]);
    const alreadyThere = await fs.readFile(toy.files.find((f) => f.split === 'test' && f.className === 'benign')!.path);
    const { data, errors } = await upload(
      [
        { bytes: fresh[0], name: 'a.png' },
        { bytes: fresh[1], name: 'b.jpg' },
        { bytes: Buffer.from('certainly not an image'), name: 'notes.png' },
        { bytes: fresh[2], name: 'c.png' },
        { bytes: fresh[0], name: 'a-again.png' },
        { bytes: alreadyThere, name: 'from-the-test-split.jpg' },
      ],
      { label: 'malignant' },
    );
    expect(errors).toBeUndefined();
    const report = data!.addImages;
    expect(report).toMatchObject({ added: 3, duplicates: 2, rejected: 1 });
    const [a, b, bad, c, again, leaked] = report.files;
    expect(bad).toMatchObject({ status: 'REJECTED', name: 'notes.png', imageId: null, error: { code: 'BAD_USER_INPUT', reason: 'NOT_AN_IMAGE' } });
    expect(again).toMatchObject({ status: 'DUPLICATE', duplicateOf: a.imageId });
    // The same bytes already sit in the test split: adding them to training would leak the test set.
    expect(leaked.status).toBe('DUPLICATE');
    expect(leaked.duplicateOf).toMatch(/^test\/benign\//);

    for (const item of [a, b, c]) {
      expect(item).toMatchObject({ status: 'ADDED', split: 'TRAIN', label: 'malignant', error: null });
      const file = path.join(toy.root, item.imageId);
      const stored = await fs.readFile(file);
      expect(sha256Hex(stored)).toBe(item.contentHash);
      expect(path.basename(file)).toBe(`${item.contentHash}.${item === b ? 'jpg' : 'png'}`);
      const meta = await sharp(stored).metadata();
      expect([meta.width, meta.height, meta.exif]).toEqual([48, 48, undefined]);
    }
    // Nothing half-written or left over: only whole images in the class folder.
    const names = await fs.readdir(path.join(toy.root, 'train', 'malignant'));
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(await counts()).toEqual({ ...before, train: { ...before.train, malignant: before.train.malignant + 3 } });
  });

  it('puts images into the split asked for', async () => {
    const { data } = await upload([{ bytes: await lesion('benign', 201), name: 'x.png' }], { label: 'benign', split: 'TEST' });
    expect(data!.addImages.files[0]).toMatchObject({ status: 'ADDED', split: 'TEST' });
    expect(data!.addImages.files[0].imageId).toMatch(/^test\/benign\/[0-9a-f]{64}\.png$/);
  });

  it('refuses a third class, a bad label, and callers without the admin token', async () => {
    const image = { bytes: await lesion('benign', 301), name: 'n.png' };
    const third = await upload([image], { label: 'nevus' });
    expect(third.data!.addImages.files[0]).toMatchObject({ status: 'REJECTED', error: { code: 'BAD_USER_INPUT', reason: 'TOO_MANY_CLASSES' } });
    const badLabel = await upload([image], { label: '../escape' });
    expect(codes(badLabel)).toEqual(['BAD_USER_INPUT']);
    expect(badLabel.errors![0].extensions!.reason).toBe('BAD_LABEL');
    const anonymous = await gqlUpload(app.url, ADD, { images: [null], label: 'benign' }, { 'variables.images.0': image });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    await expect(fs.readdir(path.join(toy.root, 'train', 'nevus'))).rejects.toThrow();
  });
});

describe('datasetImages', () => {
  it('pages through one class with cursors, each image with a decodable thumbnail', async () => {
    const seen: any[] = [];
    let after: string | null = null;
    let total = 0;
    for (let page = 0; page < 10; page++) {
      const { data, errors }: { data?: any; errors?: unknown } = await gql(app.url, PAGE, { split: 'TRAIN', label: 'malignant', first: 4, after }, { token: ADMIN_TOKEN });
      expect(errors).toBeUndefined();
      const connection: any = data!.datasetImages;
      total = connection.totalCount;
      expect(connection.pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...connection.edges.map((e: any) => e.node));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(total).toBe((await counts()).train.malignant);
    expect(seen).toHaveLength(total);
    expect(new Set(seen.map((n) => n.id)).size).toBe(total);
    expect(seen.map((n) => n.fileName)).toEqual([...seen.map((n) => n.fileName)].sort());
    for (const node of seen) {
      expect(node).toMatchObject({ split: 'TRAIN', label: 'malignant', width: 48, height: 48 });
      expect(node.thumbnail).toMatch(/^data:image\/webp;base64,/);
      const thumb = await sharp(Buffer.from(node.thumbnail.split(',')[1], 'base64')).metadata();
      expect([thumb.format, thumb.width, thumb.height]).toEqual(['webp', 64, 64]);
    }
  });

  it('refuses a forged cursor and needs the admin token', async () => {
    const forged = await gql(app.url, PAGE, { after: 'not-a-cursor' }, { token: ADMIN_TOKEN });
    expect(codes(forged)).toEqual(['BAD_USER_INPUT']);
    expect(forged.errors![0].extensions!.reason).toBe('BAD_CURSOR');
    expect(codes(await gql(app.url, PAGE, {}))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('moveImage and removeImage', () => {
  const MOVE = `mutation ($id: String!, $label: String, $split: Split) { moveImage(id: $id, label: $label, split: $split) { id split label contentHash } }`;
  const REMOVE = `mutation ($id: String!) { removeImage(id: $id) { id contentHash thumbnail } }`;

  it('relabels, moves between splits and removes, keeping the file contents', async () => {
    // A name no other class folder has, so the relabelled file cannot collide.
    const source = toy.files.find((f) => f.split === 'train' && f.className === 'benign')!;
    const original = { path: path.join(toy.root, 'train', 'benign', 'relabel-me.jpg') };
    await fs.rename(source.path, original.path);
    const before = await counts();
    const id = 'train/benign/relabel-me.jpg';
    const bytes = await fs.readFile(original.path);

    const relabelled = await gql(app.url, MOVE, { id, label: 'malignant' }, { token: ADMIN_TOKEN });
    expect(relabelled.errors).toBeUndefined();
    expect(relabelled.data!.moveImage).toMatchObject({ id: `train/malignant/${path.basename(original.path)}`, label: 'malignant', contentHash: sha256Hex(bytes) });
    const moved = await gql(app.url, MOVE, { id: relabelled.data!.moveImage.id, split: 'TEST' }, { token: ADMIN_TOKEN });
    expect(moved.data!.moveImage).toMatchObject({ split: 'TEST', label: 'malignant' });
    expect(await fs.readFile(path.join(toy.root, moved.data!.moveImage.id))).toEqual(bytes);
    expect(await counts()).toEqual({
      train: { ...before.train, benign: before.train.benign - 1 },
      test: { ...before.test, malignant: before.test.malignant + 1 },
    });

    const removed = await gql(app.url, REMOVE, { id: moved.data!.moveImage.id }, { token: ADMIN_TOKEN });
    expect(removed.data!.removeImage).toMatchObject({ contentHash: sha256Hex(bytes), thumbnail: null });
    expect(codes(await gql(app.url, REMOVE, { id: moved.data!.moveImage.id }, { token: ADMIN_TOKEN }))).toEqual(['IMAGE_NOT_FOUND']);
    expect((await counts()).test.malignant).toBe(before.test.malignant);
  });

  it('refuses ids outside the dataset and a move onto an existing file', async () => {
    for (const id of ['../../etc/passwd', 'train/../../x.jpg', 'validation/benign/a.jpg', 'train/benign']) {
      const response = await gql(app.url, REMOVE, { id }, { token: ADMIN_TOKEN });
      expect(codes(response), id).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0].extensions!.reason).toBe('BAD_IMAGE_ID');
    }
    const source = toy.files.find((f) => f.split === 'train' && f.className === 'benign' && !f.path.endsWith('000.jpg'))!;

    const name = path.basename(source.path);
    await fs.copyFile(source.path, path.join(toy.root, 'test', 'benign', name));
    const clash = await gql(app.url, MOVE, { id: `train/benign/${name}`, split: 'TEST' }, { token: ADMIN_TOKEN });
    expect(codes(clash)).toEqual(['IMAGE_EXISTS']);
    await fs.rm(path.join(toy.root, 'test', 'benign', name));
  });
});

describe('importDatasetArchive', () => {
  const IMPORT = `mutation ($archive: Upload!, $split: Split) { importDatasetArchive(archive: $archive, split: $split) { added duplicates rejected files { name status split label error { reason } } } }`;

  async function zip(entries: Record<string, Buffer>): Promise<Buffer> {
    const archive = new yazl.ZipFile();
    for (const [name, bytes] of Object.entries(entries)) archive.addBuffer(bytes, name);
    archive.end();
    const chunks: Buffer[] = [];
    for await (const chunk of archive.outputStream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('imports <label>/<file> entries (and <split>/<label>/<file>), reporting the ones it skips', async () => {
    const before = await counts();
    const archive = await zip({
      'lesions/benign/one.png': await lesion('benign', 401),
      'lesions/malignant/two.jpg': await lesion('malignant', 402, 'jpeg'),
      'lesions/test/benign/three.png': await lesion('benign', 403),
      'lesions/malignant/broken.jpg': Buffer.from('garbage'),
      'lesions/README.txt': Buffer.from('about these images'),
      'loose.png': await lesion('benign', 404),
      '__MACOSX/lesions/benign/._one.png': Buffer.from('resource fork'),
    });
    const { data, errors } = await gqlUpload(app.url, IMPORT, { archive: null }, { 'variables.archive': { bytes: archive, name: 'lesions.zip' } }, { token: ADMIN_TOKEN });
    expect(errors).toBeUndefined();
    const report = data!.importDatasetArchive;
    expect(report).toMatchObject({ added: 3, duplicates: 0, rejected: 3 });
    const byName = Object.fromEntries(report.files.map((f: any) => [f.name, f]));
    expect(byName['lesions/benign/one.png']).toMatchObject({ status: 'ADDED', split: 'TRAIN', label: 'benign' });
    expect(byName['lesions/test/benign/three.png']).toMatchObject({ status: 'ADDED', split: 'TEST', label: 'benign' });
    expect(byName['lesions/malignant/broken.jpg'].error.reason).toBe('NOT_AN_IMAGE');
    expect(byName['lesions/README.txt'].error.reason).toBe('UNSUPPORTED_FORMAT');
    expect(byName['loose.png'].error.reason).toBe('BAD_ARCHIVE');
    expect(Object.keys(byName).some((name) => name.includes('__MACOSX'))).toBe(false);
    const after = await counts();
    expect(after.train.benign).toBe(before.train.benign + 1);
    expect(after.train.malignant).toBe(before.train.malignant + 1);
    expect(after.test.benign).toBe(before.test.benign + 1);
  });

  it('refuses a file that is not a zip archive', async () => {
    const response = await gqlUpload(app.url, IMPORT, { archive: null }, { 'variables.archive': { bytes: Buffer.from('PK but no'), name: 'x.zip' } }, { token: ADMIN_TOKEN });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0].extensions!.reason).toBe('BAD_ARCHIVE');
  });
});

describe('dataset summary', () => {
  const SUMMARY = /* GraphQL */ `{
    dataset {
      statistics { split total imbalanceRatio classes { name count fraction } sizes { minWidth medianWidth maxWidth minHeight maxHeight totalBytes } formats { format count } }
      duplicates { contentHash imageIds crossSplit conflictingLabels }
      nearDuplicates { trainImageId testImageId distance }
      nearDuplicateCount leakedTestImages leakageWarning
      unreadableImages { id reason }
    }
  }`;

  it('reports class balance, image sizes, unreadable files, and test images that leak from training', async () => {
    const clean = await gql(app.url, SUMMARY);
    expect(clean.errors).toBeUndefined();
    expect(clean.data!.dataset).toMatchObject({ duplicates: [], unreadableImages: [] });
    // The toy benign lesions are one small round spot each, so some already look alike to the hash.
    const alreadyAlike = new Set<string>(clean.data!.dataset.nearDuplicates.map((p: { testImageId: string }) => p.testImageId));
    expect(clean.data!.dataset.leakedTestImages).toBe(alreadyAlike.size);

    const trainFiles = toy.files.filter((f) => f.split === 'train' && f.className === 'malignant');
    // An exact copy and a re-encoded, enlarged copy of training images placed in the test split.
    const copy = path.join(toy.root, 'test', 'malignant', 'copy.jpg');
    await fs.copyFile(trainFiles[0].path, copy);
    const resized = path.join(toy.root, 'test', 'benign', 'resized.png');
    await fs.writeFile(resized, await sharp(trainFiles[1].path).resize(96, 96).png().toBuffer());
    await fs.writeFile(path.join(toy.root, 'train', 'benign', 'damaged.jpg'), (await fs.readFile(trainFiles[2].path)).subarray(0, 200));
    try {
      const { data, errors } = await gql(app.url, SUMMARY);
      expect(errors).toBeUndefined();
      const summary = data!.dataset;
      const trainId = (file: string) => `train/malignant/${path.basename(file)}`;
      expect(summary.duplicates).toEqual([
        { contentHash: sha256Hex(await fs.readFile(copy)), imageIds: [trainId(trainFiles[0].path), 'test/malignant/copy.jpg'].sort(), crossSplit: true, conflictingLabels: false },
      ]);
      expect(summary.nearDuplicates).toContainEqual({ trainImageId: trainId(trainFiles[1].path), testImageId: 'test/benign/resized.png', distance: expect.any(Number) });
      expect(summary.nearDuplicates.find((p: any) => p.testImageId === 'test/benign/resized.png').distance).toBeLessThanOrEqual(4);
      const leaked = new Set([...alreadyAlike, 'test/malignant/copy.jpg', 'test/benign/resized.png']).size;
      expect(summary.leakedTestImages).toBe(leaked);
      expect(summary.leakageWarning).toMatch(new RegExp(`^${leaked} of \\d+ test images also appear in the training split`));
      expect(summary.unreadableImages).toEqual([{ id: 'train/benign/damaged.jpg', reason: expect.stringMatching(/not a readable image|incomplete or damaged/) }]);

      const current = await counts();
      const train = summary.statistics.find((s: any) => s.split === 'TRAIN');
      const benign = current.train.benign;
      const malignant = current.train.malignant;
      expect(train.total).toBe(benign + malignant);
      expect(train.classes).toEqual([
        { name: 'benign', count: benign, fraction: benign / (benign + malignant) },
        { name: 'malignant', count: malignant, fraction: malignant / (benign + malignant) },
      ]);
      expect(train.imbalanceRatio).toBeCloseTo(Math.max(benign, malignant) / Math.min(benign, malignant), 10);
      expect(train.sizes).toMatchObject({ minWidth: 48, maxWidth: 48, medianWidth: 48 });
      const test = summary.statistics.find((s: any) => s.split === 'TEST');
      expect(test.sizes.maxWidth).toBe(96);
      expect(test.formats.map((f: any) => f.format).sort()).toEqual(['jpeg', 'png']);
    } finally {
      await Promise.all([copy, resized, path.join(toy.root, 'train', 'benign', 'damaged.jpg')].map((f) => fs.rm(f)));
    }
  });
});
