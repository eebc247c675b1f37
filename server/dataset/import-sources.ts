// Where bulk imports come from: a zip archive or a folder laid out as <label>/<file> (or
// <split>/<label>/<file>; any folders above are ignored, so a zipped "lesions/benign/..." works).
// Entries are produced one at a time, so a large archive is never held in memory whole.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { isImageFileName } from '../ml/image-folder.js';
import { DatasetChangeError } from './dataset-change-error.js';
import type { ImportCandidate } from './dataset-folder.js';
import { isSplitName } from './layout.js';

export interface SourceLimits {
  /** Largest single image. */
  maxEntryBytes: number;
  /** Most entries read from one archive or folder. */
  maxEntries: number;
}

/** Label (and split, when named) from a relative path; an error candidate when there is no label. */
export function placement(relativePath: string): Pick<ImportCandidate, 'label' | 'split' | 'error'> {
  const parts = relativePath.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  if (parts.length < 2) return { error: { code: 'BAD_ARCHIVE', message: `"${relativePath}" is not inside a class folder: lay files out as <label>/<file>` } };
  const label = parts[parts.length - 2];
  const maybeSplit = parts[parts.length - 3];
  return maybeSplit !== undefined && isSplitName(maybeSplit) ? { label, split: maybeSplit } : { label };
}

/** Hidden files, macOS resource forks and folders are not offered at all. */
function isIgnored(relativePath: string): boolean {
  return relativePath.endsWith('/') || relativePath.split(/[\\/]+/).some((part) => part.startsWith('.') || part === '__MACOSX');
}

function notAnImageName(name: string): ImportCandidate['error'] {
  return { code: 'UNSUPPORTED_FORMAT', message: `"${name}" does not have an image file extension (.jpg, .jpeg, .png, .webp, .tif, .tiff, .gif)` };
}

function tooLarge(name: string, size: number, max: number): ImportCandidate['error'] {
  return { code: 'PAYLOAD_TOO_LARGE', message: `"${name}" is ${size} bytes, over the limit of ${max} bytes` };
}

function openZip(source: Buffer | string): Promise<yauzl.ZipFile> {
  const options = { lazyEntries: true, validateEntrySizes: true, decodeStrings: true, autoClose: true };
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, zip?: yauzl.ZipFile) => (error || !zip ? reject(error ?? new Error('no zip file')) : resolve(zip));
    if (typeof source === 'string') yauzl.open(source, options, done);
    else yauzl.fromBuffer(source, options, done);
  });
}

async function readStream(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw Object.assign(new Error(`more than ${maxBytes} bytes`), { code: 'PAYLOAD_TOO_LARGE' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

function archiveError(message: string, cause?: unknown): DatasetChangeError {
  return new DatasetChangeError('BAD_ARCHIVE', message, { cause });
}

/** The images of a zip archive (a Buffer, or a path on disk) as import candidates, in archive order. */
export async function* zipCandidates(source: Buffer | string, limits: SourceLimits): AsyncGenerator<ImportCandidate> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(source);
  } catch (error) {
    throw archiveError(`not a readable zip archive: ${(error as Error).message}`, error);
  }
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const pending: yauzl.Entry[] = [];
  let ended = false;
  zip.on('entry', (entry: yauzl.Entry) => {
    pending.push(entry);
    wake?.();
  });
  zip.on('end', () => {
    ended = true;
    wake?.();
  });
  zip.on('error', (error: Error) => {
    failure = error;
    wake?.();
  });
  const nextEntry = async (): Promise<yauzl.Entry | null> => {
    zip.readEntry();
    while (pending.length === 0 && !ended && !failure) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    if (failure) throw archiveError(`the zip archive is damaged: ${(failure as Error).message}`, failure);
    return pending.shift() ?? null;
  };

  try {
    let offered = 0;
    for (let entry = await nextEntry(); entry; entry = await nextEntry()) {
      const name = entry.fileName;
      if (isIgnored(name)) continue;
      if (++offered > limits.maxEntries) throw archiveError(`the archive holds more than ${limits.maxEntries} files; split it up`);
      const place = placement(name);
      if (place.error) {
        yield { name, error: place.error };
        continue;
      }
      if (!isImageFileName(path.basename(name))) {
        yield { name, ...place, error: notAnImageName(name) };
        continue;
      }
      if (entry.uncompressedSize > limits.maxEntryBytes) {
        yield { name, ...place, error: tooLarge(name, entry.uncompressedSize, limits.maxEntryBytes) };
        continue;
      }
      try {
        const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry!, (error, s) => (error || !s ? reject(error) : resolve(s))));
        yield { name, ...place, bytes: await readStream(stream, limits.maxEntryBytes) };
      } catch (error) {
        yield { name, ...place, error: { code: 'BAD_ARCHIVE', message: `"${name}" could not be extracted: ${(error as Error).message}` } };
      }
    }
  } finally {
    zip.close();
  }
}

/** The images under a folder (recursively, without following links) as import candidates, sorted by path. */
export async function* folderCandidates(root: string, limits: SourceLimits): AsyncGenerator<ImportCandidate> {
  const files: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === '__MACOSX') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && depth < 4) await walk(full, depth + 1);
      else if (entry.isFile()) files.push(path.relative(root, full));
      if (files.length > limits.maxEntries) throw archiveError(`the folder holds more than ${limits.maxEntries} files; import it in parts`);
    }
  };
  await walk(root, 0);
  for (const name of files) {
    const place = placement(name);
    if (place.error) {
      yield { name, error: place.error };
      continue;
    }
    if (!isImageFileName(path.basename(name))) {
      yield { name, ...place, error: notAnImageName(name) };
      continue;
    }
    const full = path.join(root, name);
    const { size } = await fs.stat(full);
    if (size > limits.maxEntryBytes) yield { name, ...place, error: tooLarge(name, size, limits.maxEntryBytes) };
    else yield { name, ...place, bytes: await fs.readFile(full) };
  }
}
