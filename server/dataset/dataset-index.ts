// The images in <root>/{train,test}/<label>/, each with its content hash and (on demand) its
// decoded facts. A file is read again only when its size or modification time changed, and
// decoded only when its content was never seen before, so listing a large folder stays cheap.
import fs from 'node:fs/promises';
import path from 'node:path';
import { listImageFolder } from '../ml/image-folder.js';
import type { ImageLimits } from '../ml/decode.js';
import { describeImage, sha256Hex } from './image-intake.js';
import { memoryFactsCache, type ImageFacts, type ImageFactsCache } from './image-facts.js';
import { imageId, SPLITS, type SplitName } from './layout.js';

export interface IndexedImage {
  id: string;
  split: SplitName;
  label: string;
  fileName: string;
  path: string;
  bytes: number;
  modifiedAt: Date;
  /** sha256 (hex) of the file's bytes: the same hash the training manifest records. */
  contentHash: string;
}

export interface DatasetListing {
  images: IndexedImage[];
  /** Class folders per split, including empty ones (training counts those as classes too). */
  labels: Record<SplitName, string[]>;
}

interface Remembered {
  size: number;
  mtimeMs: number;
  contentHash: string;
}

/** Runs `work(i)` for i in [0, total) with at most `limit` in flight. */
export async function forEachBounded(total: number, limit: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, total) }, worker));
}

const READ_CONCURRENCY = 8;

export class DatasetIndex {
  private readonly remembered = new Map<string, Remembered>();
  /** A scan in progress: callers arriving meanwhile share it (if nothing was written since it began). */
  private scanning: { generation: number; result: Promise<DatasetListing> } | null = null;
  private generation = 0;

  constructor(
    readonly root: string,
    private readonly options: { limits?: Partial<ImageLimits>; facts?: ImageFactsCache } = {},
  ) {
    this.facts = options.facts ?? memoryFactsCache();
  }

  private readonly facts: ImageFactsCache;
  private readonly decoding = new Map<string, Promise<ImageFacts>>();

  /** A scan that began before this call does not count as current (called after every write through this process). */
  invalidate(): void {
    this.generation++;
  }

  /** Every image, sorted by split, label and file name, as the folder is now. */
  list(): Promise<DatasetListing> {
    if (this.scanning && this.scanning.generation === this.generation) return this.scanning.result;
    const result = this.scan();
    const scanning = { generation: this.generation, result };
    this.scanning = scanning;
    const done = () => {
      if (this.scanning === scanning) this.scanning = null;
    };
    result.then(done, done);
    return result;
  }

  private async scan(): Promise<DatasetListing> {
    const labels = { train: [], test: [] } as Record<SplitName, string[]>;
    const found: { split: SplitName; label: string; path: string }[] = [];
    for (const split of SPLITS) {
      const splitDir = path.join(this.root, split);
      const listing = await listImageFolder(splitDir).catch(() => null);
      if (!listing) continue;
      labels[split] = listing.classNames;
      for (const file of listing.files) found.push({ split, label: file.className, path: file.path });
    }
    const images = new Array<IndexedImage | null>(found.length).fill(null);
    const seen = new Set<string>();
    await forEachBounded(found.length, READ_CONCURRENCY, async (i) => {
      const file = found[i];
      seen.add(file.path);
      try {
        const stat = await fs.stat(file.path);
        const contentHash = await this.hashOf(file.path, stat);
        const fileName = path.basename(file.path);
        images[i] = {
          id: imageId({ split: file.split, label: file.label, fileName }),
          split: file.split,
          label: file.label,
          fileName,
          path: file.path,
          bytes: stat.size,
          modifiedAt: stat.mtime,
          contentHash,
        };
      } catch {
        // Removed between listing and reading: it is simply not there any more.
      }
    });
    for (const known of this.remembered.keys()) if (!seen.has(known)) this.remembered.delete(known);
    return { images: images.filter((image): image is IndexedImage => image !== null), labels };
  }

  private async hashOf(file: string, stat: { size: number; mtimeMs: number }): Promise<string> {
    const known = this.remembered.get(file);
    if (known && known.size === stat.size && known.mtimeMs === stat.mtimeMs) return known.contentHash;
    const contentHash = sha256Hex(await fs.readFile(file));
    this.remembered.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, contentHash });
    return contentHash;
  }

  /** Decoded facts of one image, from the cache when its content was seen before. */
  factsOf(image: IndexedImage): Promise<ImageFacts> {
    const cached = this.facts.get(image.contentHash);
    if (cached) return Promise.resolve(cached);
    // Two analyses at once (two open dashboards) decode each picture once between them.
    let decoding = this.decoding.get(image.contentHash);
    if (!decoding) {
      decoding = this.decode(image).finally(() => this.decoding.delete(image.contentHash));
      this.decoding.set(image.contentHash, decoding);
    }
    return decoding;
  }

  private async decode(image: IndexedImage): Promise<ImageFacts> {
    let facts: ImageFacts;
    try {
      const { original, perceptualHash } = await describeImage(await fs.readFile(image.path), this.options.limits);
      facts = { width: original.width, height: original.height, format: original.format, perceptualHash, problem: null };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOENT') throw error;
      facts = { width: null, height: null, format: null, perceptualHash: null, problem: error instanceof Error ? error.message : String(error) };
    }
    this.facts.put(image.contentHash, facts);
    return facts;
  }

  /** Facts of many images, decoding a few at a time. */
  async factsOfAll(images: IndexedImage[]): Promise<(ImageFacts | null)[]> {
    const result = new Array<ImageFacts | null>(images.length).fill(null);
    await forEachBounded(images.length, 4, async (i) => {
      result[i] = await this.factsOf(images[i]).catch(() => null);
    });
    return result;
  }
}
