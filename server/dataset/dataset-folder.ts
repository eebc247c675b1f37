// Every change to the image folder: add, remove, move. Writes are atomic (a hidden temp file,
// fsynced, then linked into place under its content-hash name), so training and listings see a
// file complete or not at all; changes from this process take turns, so duplicate checks and
// class counts are never decided on a stale view.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ImageLimits } from '../ml/decode.js';
import { fsyncDir, uniqueName, writeFileDurable } from '../util/atomic-write.js';
import { DatasetChangeError } from './dataset-change-error.js';
import type { DatasetIndex, IndexedImage } from './dataset-index.js';
import { prepareImage, type PreparedImage } from './image-intake.js';
import { checkLabel, classDir, imageId, imagePath, isSplitName, parseImageId, SPLITS, type SplitName } from './layout.js';

const TEMP_PREFIX = '.tmp-';
// A temp file older than this is a leftover of a crash (a write takes well under a second).
const STALE_TEMP_MS = 10 * 60_000;

/** One file offered for the dataset: bytes to store, or the reason it could not even be read. */
export interface ImportCandidate {
  /** Where it came from (upload file name, archive entry, URL): for the report only. */
  name: string;
  bytes?: Buffer;
  /** Overrides the batch's label / split (archives laid out as <label>/<file>). */
  label?: string;
  split?: SplitName;
  error?: { code: string; message: string };
  /** Bytes already validated and re-encoded by `prepareImage` (kept for review): stored as they are. */
  prepared?: Pick<PreparedImage, 'bytes' | 'contentHash' | 'extension'>;
}

export type ImportStatus = 'added' | 'duplicate' | 'rejected';

export interface ImportedItem {
  index: number;
  name: string;
  status: ImportStatus;
  split: SplitName | null;
  label: string | null;
  /** The stored image's id when added. */
  id: string | null;
  contentHash: string | null;
  /** The id of the image already holding this content (status duplicate). */
  duplicateOf: string | null;
  /** Why it was rejected: an image code (NOT_AN_IMAGE, ...), BAD_LABEL, TOO_MANY_CLASSES, BAD_ARCHIVE, PAYLOAD_TOO_LARGE. */
  code: string | null;
  message: string | null;
}

export interface ImportReport {
  items: ImportedItem[];
  added: number;
  duplicates: number;
  rejected: number;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

function isNodeError(error: unknown, ...codes: string[]): boolean {
  return codes.includes(codeOf(error));
}

export class DatasetFolder {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly index: DatasetIndex,
    private readonly limits?: Partial<ImageLimits>,
  ) {}

  get root(): string {
    return this.index.root;
  }

  /** Runs `task` after every earlier change from this process has finished. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result.finally(() => this.index.invalidate());
  }

  /** Removes temp files left by a crashed write. Best effort. */
  async removeStaleTemps(): Promise<void> {
    const now = Date.now();
    for (const split of SPLITS) {
      const splitDir = path.join(this.root, split);
      for (const label of await fs.readdir(splitDir).catch(() => [] as string[])) {
        const dir = path.join(splitDir, label);
        for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
          if (!name.startsWith(TEMP_PREFIX)) continue;
          const file = path.join(dir, name);
          const stat = await fs.stat(file).catch(() => null);
          if (stat && now - stat.mtimeMs > STALE_TEMP_MS) await fs.rm(file, { force: true }).catch(() => undefined);
        }
      }
    }
  }

  /**
   * Validates, re-encodes and stores each candidate under `<split>/<label>/<sha256>.<ext>`. A
   * candidate whose content (as received or as stored) is already anywhere in the dataset, or
   * earlier in the same batch, is reported as a duplicate and not stored; a bad one is reported
   * and skipped. Candidates are read one at a time, so an archive never sits in memory whole.
   */
  importAll(candidates: AsyncIterable<ImportCandidate> | Iterable<ImportCandidate>, defaults: { label?: string; split: SplitName }, onItem?: (item: ImportedItem) => void): Promise<ImportReport> {
    return this.exclusive(async () => {
      const listing = await this.index.list();
      const byHash = new Map<string, string>();
      for (const image of listing.images) if (!byHash.has(image.contentHash)) byHash.set(image.contentHash, image.id);
      const labels = new Set([...listing.labels.train, ...listing.labels.test]);
      const report: ImportReport = { items: [], added: 0, duplicates: 0, rejected: 0 };
      let index = 0;
      for await (const candidate of candidates) {
        const item = await this.importOne(candidate, index++, defaults, byHash, labels);
        report.items.push(item);
        if (item.status === 'added') report.added++;
        else if (item.status === 'duplicate') report.duplicates++;
        else report.rejected++;
        onItem?.(item);
      }
      return report;
    });
  }

  private async importOne(
    candidate: ImportCandidate,
    index: number,
    defaults: { label?: string; split: SplitName },
    byHash: Map<string, string>,
    labels: Set<string>,
  ): Promise<ImportedItem> {
    const split = candidate.split ?? defaults.split;
    const rawLabel = candidate.label ?? defaults.label;
    const item: ImportedItem = { index, name: candidate.name, status: 'rejected', split, label: rawLabel ?? null, id: null, contentHash: null, duplicateOf: null, code: null, message: null };
    const reject = (code: string, message: string): ImportedItem => ({ ...item, code, message });
    if (candidate.error) return reject(candidate.error.code, candidate.error.message);
    if (!candidate.bytes && !candidate.prepared) return reject('EMPTY_FILE', 'the file is empty');
    if (rawLabel === undefined) return reject('BAD_LABEL', 'no class name given for this file');
    let label: string;
    try {
      label = checkLabel(rawLabel);
      this.checkClassCount(labels, label);
    } catch (error) {
      return reject(codeOf(error), (error as Error).message);
    }
    item.label = label;
    let prepared: Pick<PreparedImage, 'bytes' | 'contentHash' | 'extension' | 'originalHash'>;
    try {
      prepared = candidate.prepared ? { ...candidate.prepared, originalHash: candidate.prepared.contentHash } : await prepareImage(candidate.bytes!, this.limits);
    } catch (error) {
      if (codeOf(error) === 'INTERNAL_SERVER_ERROR') throw error;
      return reject(codeOf(error), (error as Error).message);
    }
    item.contentHash = prepared.contentHash;
    const existing = byHash.get(prepared.contentHash) ?? byHash.get(prepared.originalHash);
    if (existing) return { ...item, status: 'duplicate', duplicateOf: existing };

    const ref = { split, label, fileName: `${prepared.contentHash}.${prepared.extension}` };
    const written = await this.writeNew(ref, prepared.bytes);
    const id = imageId(ref);
    byHash.set(prepared.contentHash, id);
    byHash.set(prepared.originalHash, id);
    labels.add(label);
    if (!written) return { ...item, status: 'duplicate', duplicateOf: id };
    return { ...item, status: 'added', id };
  }

  /** Training needs exactly two classes: a third name anywhere in the dataset is refused. */
  private checkClassCount(labels: Set<string>, label: string): void {
    if (labels.has(label) || labels.size < 2) return;
    throw new DatasetChangeError('TOO_MANY_CLASSES', `the dataset already has the classes ${[...labels].sort().join(' and ')}; "${label}" would be a third, and training needs exactly two`);
  }

  /** Writes `bytes` as the file `ref` names unless it exists; false when it already did. */
  private async writeNew(ref: { split: SplitName; label: string; fileName: string }, bytes: Buffer): Promise<boolean> {
    const dir = classDir(this.root, ref.split, ref.label);
    const created = await fs.mkdir(dir, { recursive: true });
    const temp = path.join(dir, uniqueName(TEMP_PREFIX));
    try {
      await writeFileDurable(temp, bytes);
      // link refuses to replace an existing name, unlike rename: no check-then-write race.
      await fs.link(temp, imagePath(this.root, ref));
    } catch (error) {
      if (isNodeError(error, 'EEXIST')) return false;
      throw error;
    } finally {
      await fs.rm(temp, { force: true });
    }
    await fsyncDir(dir);
    if (created) await fsyncDir(path.dirname(created));
    return true;
  }

  /** The image `id` names, or IMAGE_NOT_FOUND. */
  async find(id: string): Promise<IndexedImage> {
    const ref = parseImageId(id);
    const listing = await this.index.list();
    const found = listing.images.find((image) => image.split === ref.split && image.label === ref.label && image.fileName === ref.fileName);
    if (found) return found;
    const exists = await fs.stat(imagePath(this.root, ref)).catch(() => null);
    if (!exists?.isFile()) throw new DatasetChangeError('IMAGE_NOT_FOUND', `no image ${id} in the dataset`);
    this.index.invalidate();
    const fresh = (await this.index.list()).images.find((image) => image.id === id);
    if (!fresh) throw new DatasetChangeError('IMAGE_NOT_FOUND', `no image ${id} in the dataset`);
    return fresh;
  }

  /** Deletes one image; an emptied class folder goes too (training would count it as a class). */
  remove(id: string): Promise<IndexedImage> {
    return this.exclusive(async () => {
      const image = await this.find(id);
      try {
        await fs.unlink(image.path);
      } catch (error) {
        if (isNodeError(error, 'ENOENT')) throw new DatasetChangeError('IMAGE_NOT_FOUND', `no image ${id} in the dataset`);
        throw error;
      }
      const dir = path.dirname(image.path);
      await fsyncDir(dir);
      await this.removeIfEmpty(dir);
      return image;
    });
  }

  /** Relabels and/or moves an image to another split, in one rename. Returns its new id. */
  move(id: string, to: { label?: string; split?: string }): Promise<string> {
    return this.exclusive(async () => {
      if (to.split !== undefined && !isSplitName(to.split)) throw new DatasetChangeError('BAD_IMAGE_ID', `"${to.split}" is not a split (${SPLITS.join(', ')})`);
      const newLabel = to.label === undefined ? undefined : checkLabel(to.label);
      const image = await this.find(id);
      const split = (to.split as SplitName | undefined) ?? image.split;
      const label = newLabel ?? image.label;
      if (split === image.split && label === image.label) return image.id;
      const listing = await this.index.list();
      const labels = new Set([...listing.labels.train, ...listing.labels.test]);
      // The source class disappears if this was its last image anywhere.
      const lastOfLabel = !listing.images.some((other) => other.label === image.label && other.id !== image.id);
      if (lastOfLabel) labels.delete(image.label);
      this.checkClassCount(labels, label);

      const ref = { split, label, fileName: image.fileName };
      const target = imagePath(this.root, ref);
      if (await fs.stat(target).catch(() => null)) throw new DatasetChangeError('IMAGE_EXISTS', `${imageId(ref)} already exists`);
      const dir = path.dirname(target);
      const created = await fs.mkdir(dir, { recursive: true });
      await fs.rename(image.path, target);
      await fsyncDir(dir);
      if (created) await fsyncDir(path.dirname(created));
      await fsyncDir(path.dirname(image.path));
      await this.removeIfEmpty(path.dirname(image.path));
      return imageId(ref);
    });
  }

  private async removeIfEmpty(dir: string): Promise<void> {
    try {
      await fs.rmdir(dir);
      await fsyncDir(path.dirname(dir));
    } catch {
      // Not empty (or already gone): keep it.
    }
  }
}
