// Model versions on disk. Each version is an immutable folder `<root>/<version>/` holding
// `model.json`, `weights.bin` and `metadata.json` (with a sha256 of the weights); `<root>/active.json`
// names the version being served and the ones served before it.
//
// Crash safety: a version is written into a hidden temp folder and renamed into place only when
// complete, and `active.json` is replaced by rename, so a killed process leaves at worst a hidden
// leftover (ignored, later cleaned up), never a half-written version that looks valid.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { tf } from '../ml/tf.js';
import { WEIGHTS_FILE, ModelFileError, readCheckedModelFiles, sha256Hex } from '../ml/model-files.js';

// tfjs is loaded only to save or load a model: listing and checking versions (the server's main
// thread) never needs it.
const modelIo = () => import('../ml/model-io.js');
const tfjs = async () => (await import('../ml/tf.js')).tf;
import type { ModelMetadata } from '../ml/types.js';
import { fsyncDir, uniqueName, writeFileAtomic, writeFileDurable } from '../util/atomic-write.js';
import { RegistryError } from './registry-error.js';

export const METADATA_FILE = 'metadata.json';
export { ACTIVE_FILE } from './active-file.js';
import { ACTIVE_FILE } from './active-file.js';
export const MODEL_FORMAT: ModelMetadata['format'] = 'skin-cancer-detection/model@1';

/** Hidden names: in-progress saves and pointer updates, and versions being deleted. */
const TEMP_PREFIX = '.tmp-';
const TRASH_PREFIX = '.trash-';
/** How many earlier active versions `active.json` remembers for rollback. */
const MAX_HISTORY = 50;

export interface DamagedVersion {
  version: string;
  reason: string;
}

export interface RegistryListing {
  /** Intact versions, oldest first. */
  versions: ModelMetadata[];
  damaged: DamagedVersion[];
  /** The active version if it is intact, else null. */
  active: string | null;
  /** Why `active` is null although `active.json` names a version (or cannot be read). */
  activeProblem?: string;
}

export interface ModelRegistryOptions {
  /** Hidden temp entries older than this are leftovers of a crash and are removed. Default 10 minutes. */
  staleTempMs?: number;
}

/** `metadata.json` as stored: the metadata plus the checksum of `weights.bin`. */
interface StoredMetadata extends ModelMetadata {
  weightsSha256: string;
}

/** Contents of `active.json`. */
interface ActivePointer {
  version: string;
  /** Earlier active versions, most recent last. */
  previous: string[];
}

type VersionCheck =
  | { status: 'intact'; metadata: ModelMetadata; weightsSha256: string }
  | { status: 'missing' | 'damaged'; reason: string };

// One queue per root folder, so every registry object on the same folder in this process takes turns
// at changing it (version numbering and the read-modify-write of active.json).
const writeQueues = new Map<string, Promise<unknown>>();

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A version name is one visible path segment: no separators, no leading dot, no traversal. */
function isValidVersionName(version: string): boolean {
  return version.length > 0 && version.length <= 200 && !version.startsWith('.') && !/[/\\\0]/.test(version);
}

function versionNumber(version: string): number | undefined {
  const match = /^v(\d+)$/.exec(version);
  return match ? Number(match[1]) : undefined;
}

/** Checks the fields the service relies on; returns why the metadata is unusable, or undefined. */
function metadataProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a JSON object';
  const m = value as Record<string, unknown>;
  if (m.format !== MODEL_FORMAT) return `has format ${JSON.stringify(m.format)}, expected ${MODEL_FORMAT}`;
  const expectedTypes: [string, string][] = [
    ['architecture', 'string'],
    ['imageSize', 'number'],
    ['positiveClass', 'string'],
    ['threshold', 'number'],
    ['metrics', 'object'],
    ['trainingParams', 'object'],
    ['backend', 'string'],
    ['createdAt', 'string'],
    ['trainingSeconds', 'number'],
    ['epochsCompleted', 'number'],
  ];
  for (const [field, type] of expectedTypes) {
    if (typeof m[field] !== type || m[field] === null) return `lacks a valid ${field}`;
  }
  const classNames = m.classNames;
  if (!Array.isArray(classNames) || classNames.length !== 2 || !classNames.every((c) => typeof c === 'string')) {
    return 'lacks two class names';
  }
  if (typeof m.weightsSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.weightsSha256)) return 'lacks the weights checksum';
  return undefined;
}

function compareOldestFirst(a: ModelMetadata, b: ModelMetadata): number {
  const byTime = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
  return a.version.localeCompare(b.version, 'en', { numeric: true });
}

export class ModelRegistry {
  readonly root: string;
  private readonly staleTempMs: number;

  constructor(root: string, options: ModelRegistryOptions = {}) {
    this.root = path.resolve(root);
    this.staleTempMs = options.staleTempMs ?? 10 * 60_000;
  }

  /** Creates the root folder if needed and removes leftovers of crashed writes. */
  static async open(root: string, options: ModelRegistryOptions = {}): Promise<ModelRegistry> {
    const registry = new ModelRegistry(root, options);
    await fs.mkdir(registry.root, { recursive: true });
    await registry.removeStaleTemps();
    return registry;
  }

  /** Every version folder, intact or damaged (damage is reported, never thrown), and the active one. */
  async list(): Promise<RegistryListing> {
    await this.removeStaleTemps();
    const versions: ModelMetadata[] = [];
    const damaged: DamagedVersion[] = [];
    // One at a time: each check reads a whole weights file.
    for (const version of await this.versionFolders()) {
      const check = await this.inspect(version);
      if (check.status === 'intact') versions.push(check.metadata);
      else if (check.status === 'damaged') damaged.push({ version, reason: check.reason });
    }
    versions.sort(compareOldestFirst);

    const listing: RegistryListing = { versions, damaged, active: null };
    const pointer = await this.readPointer();
    if (pointer.problem) listing.activeProblem = pointer.problem;
    else if (pointer.value) {
      const name = pointer.value.version;
      const damage = damaged.find((d) => d.version === name);
      if (versions.some((v) => v.version === name)) listing.active = name;
      else if (damage) listing.activeProblem = `active version ${name} is damaged: ${damage.reason}`;
      else listing.activeProblem = `active version ${name} does not exist`;
    }
    return listing;
  }

  /**
   * Stores `model` as a new version `v<max existing + 1>`; `version` and `createdAt` are set here.
   * The folder appears complete or not at all.
   */
  save(model: tf.LayersModel, metadata: Omit<ModelMetadata, 'version' | 'createdAt'>): Promise<ModelMetadata> {
    return this.exclusive(async () => {
      const temp = path.join(this.root, uniqueName(TEMP_PREFIX));
      try {
        await fs.mkdir(this.root, { recursive: true });
        await fs.mkdir(temp);
        await model.save((await modelIo()).fileSystemHandler(temp));
        const weightsSha256 = sha256Hex(await fs.readFile(path.join(temp, WEIGHTS_FILE)));
        // Another process may take the same number between our scan and the rename: then try the next.
        for (let number = await this.nextVersionNumber(); ; number++) {
          const saved: ModelMetadata = { ...metadata, version: `v${number}`, createdAt: new Date().toISOString() };
          const stored: StoredMetadata = { ...saved, weightsSha256 };
          await writeFileDurable(path.join(temp, METADATA_FILE), JSON.stringify(stored, null, 2));
          await fsyncDir(temp);
          try {
            await fs.rename(temp, this.versionDir(saved.version));
          } catch (error) {
            if (['EEXIST', 'ENOTEMPTY', 'ENOTDIR'].includes(errorCode(error) ?? '')) continue;
            throw error;
          }
          await fsyncDir(this.root);
          return saved;
        }
      } catch (error) {
        await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
        // A full disk or a read-only folder: say which folder, keep the system's reason.
        throw new RegistryError('SAVE_FAILED', `could not save a new model version in ${this.root}: ${describeError(error)}`, { cause: error });
      }
    });
  }

  /** One version's metadata after verifying its files and checksum, without building its model. */
  async metadata(version: string): Promise<ModelMetadata> {
    return (await this.requireIntact(version)).metadata;
  }

  /** Loads a version after verifying its files and checksum. The caller disposes the model. */
  async load(version: string): Promise<{ model: tf.LayersModel; metadata: ModelMetadata }> {
    const { metadata, weightsSha256 } = await this.requireIntactMetadata(version);
    try {
      const [tf, { fileSystemHandler }] = await Promise.all([tfjs(), modelIo()]);
      const model = await tf.loadLayersModel(fileSystemHandler(this.versionDir(version), { expectedWeightsSha256: weightsSha256 }));
      return { model, metadata };
    } catch (error) {
      if (!(await this.folderExists(version))) throw new RegistryError('MODEL_NOT_FOUND', `model version ${version} not found`, { cause: error });
      // Files that read back fine but do not build a model (e.g. an invalid topology) are damage too.
      throw new RegistryError('DAMAGED_MODEL', `model version ${version} is damaged: ${describeError(error)}`, { cause: error });
    }
  }

  /** The version being served, or null when none is set or it is missing or damaged. */
  async activeVersion(): Promise<string | null> {
    const pointer = await this.readPointer();
    if (!pointer.value) return null;
    const check = await this.inspect(pointer.value.version);
    return check.status === 'intact' ? pointer.value.version : null;
  }

  /** Makes an intact version active, remembering the previous active one for rollback. */
  promote(version: string): Promise<void> {
    return this.exclusive(async () => {
      await this.requireIntact(version);
      const current = (await this.readPointer()).value;
      if (current?.version === version) return;
      const previous = (current?.previous ?? []).filter((v) => v !== version);
      if (current) previous.push(current.version);
      await this.writePointer({ version, previous: previous.slice(-MAX_HISTORY) });
    });
  }

  /**
   * Re-activates the most recent earlier version that is still intact (skipping, and forgetting,
   * any that were deleted or damaged since). Returns it; `NO_ROLLBACK_TARGET` when there is none.
   */
  rollback(): Promise<string> {
    return this.exclusive(async () => {
      const current = (await this.readPointer()).value;
      const previous = [...(current?.previous ?? [])];
      while (previous.length > 0) {
        const candidate = previous.pop()!;
        if (candidate === current?.version) continue;
        if ((await this.inspect(candidate)).status === 'intact') {
          await this.writePointer({ version: candidate, previous });
          return candidate;
        }
      }
      throw new RegistryError('NO_ROLLBACK_TARGET', 'no earlier active version is still intact');
    });
  }

  /** Removes a version (damaged ones too); refuses the one `active.json` names. */
  delete(version: string): Promise<void> {
    return this.exclusive(async () => {
      if (!isValidVersionName(version) || !(await this.folderExists(version))) {
        throw new RegistryError('MODEL_NOT_FOUND', `model version ${version} not found`);
      }
      const pointer = (await this.readPointer()).value;
      if (pointer?.version === version) throw new RegistryError('MODEL_ACTIVE', `model version ${version} is active; promote another first`);

      // The rename makes the version vanish in one step; removing the files can then take its time.
      const trash = path.join(this.root, uniqueName(TRASH_PREFIX));
      await fs.rename(this.versionDir(version), trash);
      await fsyncDir(this.root);
      await fs.rm(trash, { recursive: true, force: true }).catch(() => undefined);

      if (pointer?.previous.includes(version)) {
        await this.writePointer({ version: pointer.version, previous: pointer.previous.filter((v) => v !== version) });
      }
    });
  }

  private versionDir(version: string): string {
    return path.join(this.root, version);
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const before = writeQueues.get(this.root) ?? Promise.resolve();
    const result = before.then(task, task);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    writeQueues.set(this.root, settled);
    // Forget the queue once idle so the map does not grow with every root ever used.
    void settled.then(() => {
      if (writeQueues.get(this.root) === settled) writeQueues.delete(this.root);
    });
    return result;
  }

  /** Visible sub-folders of the root: each is meant to be a version. */
  private async versionFolders(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.root);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const folders: string[] = [];
    for (const name of entries) {
      if (name.startsWith('.') || name === ACTIVE_FILE) continue;
      if (await this.folderExists(name)) folders.push(name);
    }
    return folders;
  }

  private async folderExists(version: string): Promise<boolean> {
    try {
      return (await fs.stat(this.versionDir(version))).isDirectory();
    } catch {
      return false;
    }
  }

  private async nextVersionNumber(): Promise<number> {
    const numbers = (await this.versionFolders()).map(versionNumber).filter((n): n is number => n !== undefined);
    return Math.max(0, ...numbers) + 1;
  }

  private async readMetadata(version: string): Promise<VersionCheck> {
    if (!isValidVersionName(version) || !(await this.folderExists(version))) {
      return { status: 'missing', reason: `model version ${version} not found` };
    }
    let text: string;
    try {
      text = await fs.readFile(path.join(this.versionDir(version), METADATA_FILE), 'utf8');
    } catch (error) {
      return { status: 'damaged', reason: `cannot read ${METADATA_FILE}: ${errorCode(error) ?? describeError(error)}` };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { status: 'damaged', reason: `${METADATA_FILE} is not valid JSON` };
    }
    const problem = metadataProblem(parsed);
    if (problem) return { status: 'damaged', reason: `${METADATA_FILE} ${problem}` };
    const { weightsSha256, ...metadata } = parsed as StoredMetadata;
    // The folder name is the version's identity (a copied or renamed folder keeps working).
    return { status: 'intact', metadata: { ...metadata, version }, weightsSha256 };
  }

  /** Full integrity check without building the model: metadata, model.json, weights length and checksum. */
  private async inspect(version: string): Promise<VersionCheck> {
    const check = await this.readMetadata(version);
    if (check.status !== 'intact') return check;
    try {
      await readCheckedModelFiles(this.versionDir(version), { expectedWeightsSha256: check.weightsSha256 });
      return check;
    } catch (error) {
      if (error instanceof ModelFileError) return { status: 'damaged', reason: error.message };
      throw error;
    }
  }

  private async requireIntactMetadata(version: string): Promise<{ metadata: ModelMetadata; weightsSha256: string }> {
    return this.toIntact(version, await this.readMetadata(version));
  }

  private async requireIntact(version: string): Promise<{ metadata: ModelMetadata; weightsSha256: string }> {
    return this.toIntact(version, await this.inspect(version));
  }

  private toIntact(version: string, check: VersionCheck): { metadata: ModelMetadata; weightsSha256: string } {
    if (check.status === 'intact') return check;
    if (check.status === 'missing') throw new RegistryError('MODEL_NOT_FOUND', check.reason);
    throw new RegistryError('DAMAGED_MODEL', `model version ${version} is damaged: ${check.reason}`);
  }

  /** `value` is the pointer when `active.json` is present and valid; `problem` says why it is unusable. */
  private async readPointer(): Promise<{ value?: ActivePointer; problem?: string }> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.root, ACTIVE_FILE), 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return {};
      return { problem: `cannot read ${ACTIVE_FILE}: ${errorCode(error) ?? describeError(error)}` };
    }
    try {
      const parsed = JSON.parse(text) as Partial<ActivePointer> | null;
      const previous = parsed?.previous ?? [];
      if (typeof parsed?.version === 'string' && Array.isArray(previous) && previous.every((v) => typeof v === 'string')) {
        return { value: { version: parsed.version, previous } };
      }
    } catch {
      // Reported below, like any other malformed content.
    }
    return { problem: `${ACTIVE_FILE} is malformed` };
  }

  private async writePointer(pointer: ActivePointer): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    await writeFileAtomic(path.join(this.root, ACTIVE_FILE), JSON.stringify(pointer, null, 2), TEMP_PREFIX);
  }

  /** Removes crash leftovers: temp entries older than `staleTempMs`, and any trash. Best effort. */
  private async removeStaleTemps(): Promise<void> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.root);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of entries) {
      const isTrash = name.startsWith(TRASH_PREFIX);
      if (!isTrash && !name.startsWith(TEMP_PREFIX)) continue;
      const entry = path.join(this.root, name);
      try {
        if (!isTrash && now - (await fs.stat(entry)).mtimeMs < this.staleTempMs) continue;
        await fs.rm(entry, { recursive: true, force: true });
      } catch {
        // Gone already or still in use by a concurrent delete: either way not ours to worry about.
      }
    }
  }
}

export { RegistryError } from './registry-error.js';
export type { RegistryErrorCode } from './registry-error.js';
