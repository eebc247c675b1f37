// Writes to the image folder: concurrent adds of the same picture store it once, crash leftovers
// are invisible and cleaned up, the two-class rule holds, and emptied class folders go away.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetFolder } from '../../server/dataset/dataset-folder.js';
import { DatasetIndex } from '../../server/dataset/dataset-index.js';
import { listImageFolder } from '../../server/ml/dataset.js';
import { createRng } from '../../server/ml/random.js';
import { encodeRaw, toyLesionPixels } from '../helpers/images.js';

let root: string;
let folder: DatasetFolder;

const lesion = (seed: number) => encodeRaw(toyLesionPixels(40, 'benign', createRng(seed)), 40, 40, 3, 'png');

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'dataset-folder-'));
  folder = new DatasetFolder(new DatasetIndex(root));
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('DatasetFolder', () => {
  it('stores a picture once when two requests add it at the same time', async () => {
    const bytes = await lesion(1);
    const reports = await Promise.all([0, 1, 2].map(() => folder.importAll([{ name: 'x.png', bytes }], { label: 'benign', split: 'train' })));
    expect(reports.map((r) => r.items[0].status).sort()).toEqual(['added', 'duplicate', 'duplicate']);
    expect(await fs.readdir(path.join(root, 'train', 'benign'))).toHaveLength(1);
  });

  it('ignores and later removes the hidden temp file a crashed write leaves behind', async () => {
    await folder.importAll([{ name: 'a.png', bytes: await lesion(2) }], { label: 'benign', split: 'train' });
    const leftover = path.join(root, 'train', 'benign', '.tmp-deadbeef');
    await fs.writeFile(leftover, 'half an image');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await fs.utimes(leftover, hourAgo, hourAgo);
    expect((await listImageFolder(path.join(root, 'train'))).files).toHaveLength(1);
    expect((await folder.index.list()).images).toHaveLength(1);
    await folder.removeStaleTemps();
    await expect(fs.stat(leftover)).rejects.toThrow();
  });

  it('allows two classes, refuses a third, and frees a class name once its last image is gone', async () => {
    const add = async (label: string, seed: number) => (await folder.importAll([{ name: `${label}.png`, bytes: await lesion(seed) }], { label, split: 'train' })).items[0];
    const benign = await add('benign', 3);
    expect((await add('malignant', 4)).status).toBe('added');
    expect(await add('nevus', 5)).toMatchObject({ status: 'rejected', code: 'TOO_MANY_CLASSES' });

    // Relabelling the only benign image to a new name replaces the class rather than adding one.
    const moved = await folder.move(benign.id!, { label: 'naevus' });
    expect(moved).toMatch(/^train\/naevus\//);
    expect((await fs.readdir(path.join(root, 'train'))).sort()).toEqual(['malignant', 'naevus']);
    await folder.remove(moved);
    expect(await fs.readdir(path.join(root, 'train'))).toEqual(['malignant']);
    expect((await add('nevus', 5)).status).toBe('added');
  });

  it('reports a missing image and refuses ids that leave the folder', async () => {
    await expect(folder.remove('train/benign/nothing.png')).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    await expect(folder.remove('train/../../x.png')).rejects.toMatchObject({ code: 'BAD_IMAGE_ID' });
    await expect(folder.move('train/benign/a.png', { split: 'validation' })).rejects.toMatchObject({ code: 'BAD_IMAGE_ID' });
  });
});
