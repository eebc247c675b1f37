// The feedback loop: a classified image kept for review (only when the server is configured to,
// since it is a user's photo), the user's correction, and an admin's decision that moves it into
// the training set or deletes it. Images are stored re-encoded without metadata and deleted as
// soon as they are reviewed, or after the retention time when nobody corrected them.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ImageLimits } from '../ml/decode.js';
import { DatasetChangeError } from '../dataset/dataset-change-error.js';
import { prepareImage } from '../dataset/image-intake.js';
import type { SplitName } from '../dataset/layout.js';
import { newPredictionId, PREDICTION_ID_PATTERN, type FeedbackStatus, type FeedbackStore, type KeptPrediction } from '../store/feedback-store.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { DatasetService } from './dataset-service.js';

export interface FeedbackServiceOptions {
  store: FeedbackStore;
  datasets: DatasetService;
  /** Folder for kept images (private: never served as a folder). */
  dir: string;
  /** Keep classified images at all (off by default: they are users' photos). */
  keepImages: boolean;
  /** Kept images nobody corrected within this many hours are deleted. */
  retentionHours: number;
  limits?: Partial<ImageLimits>;
}

export interface ClassifiedImage {
  modelVersion: string;
  label: string;
  probability: number;
  classNames: readonly string[];
}

// Expired images are looked for at most this often (on the next keep or queue read).
/** Prefix of images being written (writeFileAtomic's temps). */
const TEMP_PREFIX = '.tmp-';
/** A file without a record this old is left over from a crash, not a write in progress. */
const ORPHAN_AGE_MS = 10 * 60_000;
const PURGE_EVERY_MS = 10 * 60_000;

export class FeedbackService {
  private lastPurge = 0;

  constructor(private readonly options: FeedbackServiceOptions) {}

  get keepsImages(): boolean {
    return this.options.keepImages;
  }

  /** Stores the image for review and returns the prediction id, or null when keeping is off. */
  async keep(image: Buffer, result: ClassifiedImage, fileName: string | null): Promise<string | null> {
    if (!this.options.keepImages) return null;
    const prepared = await prepareImage(image, this.options.limits);
    const id = newPredictionId();
    const imageFile = `${id}.${prepared.extension}`;
    await fs.mkdir(this.options.dir, { recursive: true });
    const stored = path.join(this.options.dir, imageFile);
    await writeFileAtomic(stored, prepared.bytes, TEMP_PREFIX);
    try {
      this.options.store.insert({
        id,
        createdAt: new Date().toISOString(),
        modelVersion: result.modelVersion,
        classNames: [...result.classNames],
        predictedLabel: result.label,
        probability: result.probability,
        fileName,
        imageFile,
        contentHash: prepared.contentHash,
      });
    } catch (error) {
      // A file without its record could never be reviewed or expired.
      await fs.rm(stored, { force: true }).catch(() => undefined);
      throw error;
    }
    void this.purgeExpiredSometimes();
    return id;
  }

  /** A record that exists and still has its image. */
  private require(id: string): KeptPrediction {
    const record = PREDICTION_ID_PATTERN.test(id) ? this.options.store.get(id) : null;
    if (!record || record.status === 'expired') {
      throw new DatasetChangeError('PREDICTION_NOT_FOUND', `no kept prediction ${id}: the server keeps images only when KEEP_CLASSIFIED_IMAGES is on, and deletes uncorrected ones after ${this.options.retentionHours} hours`);
    }
    return record;
  }

  private requirePending(id: string): KeptPrediction {
    const record = this.require(id);
    if (record.status !== 'pending') {
      const why = record.status === 'kept' ? 'no correction was submitted for it' : `it was already ${record.status}`;
      throw new DatasetChangeError('FEEDBACK_NOT_PENDING', `prediction ${id} is not waiting for review: ${why}`);
    }
    return record;
  }

  /** The user's correct label for a kept prediction; it joins the review queue. */
  submit(id: string, trueLabel: string): KeptPrediction {
    const record = this.require(id);
    if (record.status === 'accepted' || record.status === 'rejected') {
      throw new DatasetChangeError('FEEDBACK_NOT_PENDING', `prediction ${id} was already ${record.status}`);
    }
    const wanted = trueLabel.trim();
    const label = record.classNames.find((name) => name === wanted) ?? record.classNames.find((name) => name.toLowerCase() === wanted.toLowerCase());
    if (!label) throw new DatasetChangeError('BAD_LABEL', `"${trueLabel}" is not one of the model's classes (${record.classNames.join(', ')})`);
    if (!this.options.store.submit(id, label, new Date().toISOString())) {
      throw new DatasetChangeError('FEEDBACK_NOT_PENDING', `prediction ${id} was reviewed meanwhile`);
    }
    return this.options.store.get(id)!;
  }

  get(id: string): KeptPrediction | null {
    return PREDICTION_ID_PATTERN.test(id) ? this.options.store.get(id) : null;
  }

  list(status: FeedbackStatus | undefined, limit: number): KeptPrediction[] {
    void this.purgeExpiredSometimes();
    return this.options.store.list({ status, limit });
  }

  count(status: FeedbackStatus): number {
    return this.options.store.count(status);
  }

  imagePath(record: KeptPrediction): string | null {
    return record.imageFile ? path.join(this.options.dir, record.imageFile) : null;
  }

  /** Moves the corrected image into `<split>/<true label>/`; an image already there counts as accepted. */
  async accept(id: string, split: SplitName = 'train'): Promise<KeptPrediction> {
    const record = this.requirePending(id);
    const file = this.imagePath(record);
    const bytes = file ? await fs.readFile(file).catch(() => null) : null;
    if (!bytes) throw new DatasetChangeError('PREDICTION_NOT_FOUND', `the image of prediction ${id} is gone`);
    const extension = record.imageFile!.endsWith('.jpg') ? 'jpg' : 'png';
    const report = await this.options.datasets.add([{ name: record.fileName ?? id, prepared: { bytes, contentHash: record.contentHash, extension } }], record.trueLabel!, split);
    const item = report.items[0];
    if (item.status === 'rejected') {
      throw new DatasetChangeError(item.code === 'TOO_MANY_CLASSES' ? 'TOO_MANY_CLASSES' : 'BAD_LABEL', item.message ?? 'the image could not be added');
    }
    if (!this.options.store.review(id, 'accepted', new Date().toISOString(), item.id ?? item.duplicateOf)) {
      throw new DatasetChangeError('FEEDBACK_NOT_PENDING', `prediction ${id} was reviewed meanwhile`);
    }
    await fs.rm(file!, { force: true });
    return this.options.store.get(id)!;
  }

  /** Deletes the image; the record stays so the queue's history is complete. */
  async reject(id: string): Promise<KeptPrediction> {
    const record = this.requirePending(id);
    if (!this.options.store.review(id, 'rejected', new Date().toISOString(), null)) {
      throw new DatasetChangeError('FEEDBACK_NOT_PENDING', `prediction ${id} was reviewed meanwhile`);
    }
    const file = this.imagePath(record);
    if (file) await fs.rm(file, { force: true });
    return this.options.store.get(id)!;
  }

  /**
   * Deletes kept images that nobody corrected within the retention time. Returns how many. Also
   * removes files no record names (a crash between writing an image and recording it) and
   * half-written temps, once they are older than ORPHAN_AGE_MS.
   */
  async purgeExpired(now = Date.now()): Promise<number> {
    this.lastPurge = now;
    const before = new Date(now - this.options.retentionHours * 3_600_000).toISOString();
    let count = 0;
    for (const record of this.options.store.keptBefore(before)) {
      if (!this.options.store.expire(record.id)) continue;
      const file = this.imagePath(record);
      if (file) await fs.rm(file, { force: true }).catch(() => undefined);
      count++;
    }
    await this.removeOrphans(now);
    return count;
  }

  private async removeOrphans(now: number): Promise<void> {
    let names: string[];
    try {
      names = await fs.readdir(this.options.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const id = name.split('.')[0]!;
      const recorded = !name.startsWith(TEMP_PREFIX) && this.options.store.get(id) !== null;
      if (recorded) continue;
      const file = path.join(this.options.dir, name);
      const stat = await fs.stat(file).catch(() => null);
      if (stat?.isFile() && stat.mtimeMs < now - ORPHAN_AGE_MS) await fs.rm(file, { force: true }).catch(() => undefined);
    }
  }

  private async purgeExpiredSometimes(): Promise<void> {
    if (Date.now() - this.lastPurge < PURGE_EVERY_MS) return;
    await this.purgeExpired().catch(() => undefined);
  }
}
