// Where bulk imports come from: <label>/<file> placement, zip archives read entry by entry with
// size and count limits, and folders.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { folderCandidates, placement, zipCandidates } from '../../server/dataset/import-sources.js';
import type { ImportCandidate } from '../../server/dataset/dataset-folder.js';

async function zip(entries: Record<string, Buffer>, compress = true): Promise<Buffer> {
  const archive = new yazl.ZipFile();
  for (const [name, bytes] of Object.entries(entries)) archive.addBuffer(bytes, name, { compress });
  archive.end();
  const chunks: Buffer[] = [];
  for await (const chunk of archive.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect(source: AsyncIterable<ImportCandidate>): Promise<ImportCandidate[]> {
  const out: ImportCandidate[] = [];
  for await (const candidate of source) out.push(candidate);
  return out;
}

const LIMITS = { maxEntryBytes: 1000, maxEntries: 10 };

describe('placement', () => {
  it('reads the label from the parent folder and the split from the one above when it names one', () => {
    expect(placement('benign/a.jpg')).toEqual({ label: 'benign' });
    expect(placement('export/2024/malignant/a.jpg')).toEqual({ label: 'malignant' });
    expect(placement('data/test/benign/a.jpg')).toEqual({ label: 'benign', split: 'test' });
    expect(placement('a.jpg').error?.code).toBe('BAD_ARCHIVE');
  });
});

describe('zipCandidates', () => {
  it('yields images with their placement and reports oversized, misplaced and non-image entries', async () => {
    const archive = await zip({
      'benign/small.png': Buffer.alloc(100, 1),
      // Highly compressible: small in the archive, over the limit once inflated.
      'benign/bomb.png': Buffer.alloc(50_000, 0),
      'malignant/notes.txt': Buffer.from('text'),
      'top.png': Buffer.alloc(10, 2),
      '.hidden/benign/x.png': Buffer.alloc(10, 3),
    });
    const candidates = await collect(zipCandidates(archive, LIMITS));
    expect(candidates.map((c) => [c.name, c.label ?? null, c.error?.code ?? null, c.bytes?.length ?? null])).toEqual([
      ['benign/small.png', 'benign', null, 100],
      ['benign/bomb.png', 'benign', 'PAYLOAD_TOO_LARGE', null],
      ['malignant/notes.txt', 'malignant', 'UNSUPPORTED_FORMAT', null],
      ['top.png', null, 'BAD_ARCHIVE', null],
    ]);
  });

  it('stops at the entry limit and refuses what is not a zip', async () => {
    const many = await zip(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`benign/${i}.png`, Buffer.alloc(5, i)])));
    await expect(collect(zipCandidates(many, LIMITS))).rejects.toMatchObject({ code: 'BAD_ARCHIVE' });
    await expect(collect(zipCandidates(Buffer.from('not a zip at all'), LIMITS))).rejects.toMatchObject({ code: 'BAD_ARCHIVE' });
  });
});

describe('folderCandidates', () => {
  it('walks <label>/<file> folders in name order, skipping hidden entries', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'folder-source-'));
    try {
      for (const [name, size] of [
        ['malignant/b.png', 20],
        ['benign/a.jpg', 10],
        ['benign/.DS_Store', 5],
        ['test/benign/c.png', 2000],
      ] as const) {
        await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
        await fs.writeFile(path.join(root, name), Buffer.alloc(size));
      }
      const candidates = await collect(folderCandidates(root, LIMITS));
      expect(candidates.map((c) => [c.name, c.split ?? null, c.label, c.error?.code ?? null])).toEqual([
        ['benign/a.jpg', null, 'benign', null],
        ['malignant/b.png', null, 'malignant', null],
        ['test/benign/c.png', 'test', 'benign', 'PAYLOAD_TOO_LARGE'],
      ]);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
