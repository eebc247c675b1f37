// The image folder as a service: browse it a page at a time, add, import, remove and relabel
// images, analyse it for imbalance and leakage, and compare the data two model versions saw.
import type { ImageLimits } from '../ml/decode.js';
import type { ModelMetadata } from '../ml/types.js';
import { analyzeDataset, type DatasetAnalysis } from '../dataset/dataset-analysis.js';
import { DatasetChangeError } from '../dataset/dataset-change-error.js';
import { DatasetFolder, type ImportCandidate, type ImportedItem, type ImportReport } from '../dataset/dataset-folder.js';
import { DatasetIndex, type IndexedImage } from '../dataset/dataset-index.js';
import type { ImageFacts, ImageFactsCache } from '../dataset/image-facts.js';
import { zipCandidates, folderCandidates, type SourceLimits } from '../dataset/import-sources.js';
import { isicCandidates, type IsicOptions } from '../dataset/isic-source.js';
import { checkLabel, type SplitName } from '../dataset/layout.js';
import { describeChanges, diffManifests, type ManifestChange } from '../dataset/manifest-diff.js';
import { Thumbnails } from '../dataset/thumbnails.js';
import { summarizeDataset, type DatasetSummary } from './dataset-summary.js';

export interface DatasetServiceOptions {
  root: string;
  limits?: Partial<ImageLimits>;
  facts?: ImageFactsCache;
  /** Perceptual hashes at most this many bits apart count as near-duplicates. */
  nearDuplicateDistance: number;
  /** Largest image inside an archive or folder import. */
  maxImageBytes: number;
  /** Most files in one archive or folder import. */
  maxArchiveFiles: number;
}

export interface ImagePageRequest {
  split: SplitName;
  label?: string;
  first: number;
  /** Continue after this (label, file name) position. */
  after?: { label: string; fileName: string };
}

export interface ImagePage {
  images: IndexedImage[];
  totalCount: number;
  hasNextPage: boolean;
}

export interface VersionDiff {
  fromVersion: string;
  toVersion: string;
  changes: ManifestChange[];
  summary: string;
}

const byPosition = (a: { label: string; fileName: string }, b: { label: string; fileName: string }): number =>
  a.label < b.label ? -1 : a.label > b.label ? 1 : a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0;

export class DatasetService {
  readonly index: DatasetIndex;
  readonly folder: DatasetFolder;
  private readonly thumbnails: Thumbnails;

  constructor(private readonly options: DatasetServiceOptions) {
    this.index = new DatasetIndex(options.root, { limits: options.limits, facts: options.facts });
    this.folder = new DatasetFolder(this.index, options.limits);
    this.thumbnails = new Thumbnails(options.limits?.maxPixels ?? 50_000_000);
  }

  get root(): string {
    return this.options.root;
  }

  private get sourceLimits(): SourceLimits {
    return { maxEntryBytes: this.options.maxImageBytes, maxEntries: this.options.maxArchiveFiles };
  }

  /** Counts by file name (nothing decoded). */
  summary(): Promise<DatasetSummary> {
    return summarizeDataset(this.options.root);
  }

  analysis(): Promise<DatasetAnalysis> {
    return analyzeDataset(this.index, { nearDuplicateDistance: this.options.nearDuplicateDistance });
  }

  async page(request: ImagePageRequest): Promise<ImagePage> {
    const { images } = await this.index.list();
    const matching = images.filter((image) => image.split === request.split && (request.label === undefined || image.label === request.label)).sort(byPosition);
    const start = request.after ? matching.findIndex((image) => byPosition(image, request.after!) > 0) : 0;
    const from = start === -1 ? matching.length : start;
    return { images: matching.slice(from, from + request.first), totalCount: matching.length, hasNextPage: from + request.first < matching.length };
  }

  image(id: string): Promise<IndexedImage> {
    return this.folder.find(id);
  }

  facts(image: IndexedImage): Promise<ImageFacts> {
    return this.index.factsOf(image);
  }

  thumbnail(image: IndexedImage, size: number): Promise<string> {
    return this.thumbnails.dataUrl(image.contentHash, image.path, size);
  }

  /** Data URL of any image bytes (review items). */
  thumbnailOf(key: string, input: string | Buffer, size: number): Promise<string> {
    return this.thumbnails.dataUrl(key, input, size);
  }

  /** A bad label fails the whole request (every file would be refused for it). */
  add(candidates: ImportCandidate[], label: string, split: SplitName): Promise<ImportReport> {
    return this.folder.importAll(candidates, { label: checkLabel(label), split });
  }

  /** A zip laid out as <label>/<file> (or <split>/<label>/<file>); `split` applies where the archive names none. */
  importArchive(archive: Buffer | string, split: SplitName, onItem?: (item: ImportedItem) => void): Promise<ImportReport> {
    return this.folder.importAll(zipCandidates(archive, this.sourceLimits), { split }, onItem);
  }

  importFolder(dir: string, split: SplitName, onItem?: (item: ImportedItem) => void): Promise<ImportReport> {
    return this.folder.importAll(folderCandidates(dir, this.sourceLimits), { split }, onItem);
  }

  importIsic(options: Omit<IsicOptions, 'maxEntryBytes'>, split: SplitName, onItem?: (item: ImportedItem) => void): Promise<ImportReport> {
    return this.folder.importAll(isicCandidates({ ...options, maxEntryBytes: this.options.maxImageBytes }), { split }, onItem);
  }

  remove(id: string): Promise<IndexedImage> {
    return this.folder.remove(id);
  }

  /** Returns the image under its new id. */
  async move(id: string, to: { label?: string; split?: SplitName }): Promise<IndexedImage> {
    return this.folder.find(await this.folder.move(id, to));
  }

  /** What `to` was trained on that `from` was not, and the reverse, per split and class. */
  diff(from: ModelMetadata, to: ModelMetadata): VersionDiff {
    const before = from.datasetFingerprint?.images;
    const after = to.datasetFingerprint?.images;
    const missing = [!before && from.version, !after && to.version].filter(Boolean);
    if (!before || !after) {
      throw new DatasetChangeError('NO_DATASET_MANIFEST', `${missing.join(' and ')} ${missing.length > 1 ? 'were' : 'was'} saved without a list of the images trained on; retrain to compare`);
    }
    const changes = diffManifests(before, after);
    return { fromVersion: from.version, toVersion: to.version, changes, summary: describeChanges(from.version, to.version, changes) };
  }
}
