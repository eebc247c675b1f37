// What a person should know about the dataset before training on it: how balanced the classes
// are, what the images look like (sizes, formats), which files are unreadable, which pictures
// are stored twice, and which test images are (nearly) the same as training images, which would
// make the test metrics look better than the model is.
import type { DatasetIndex, IndexedImage } from './dataset-index.js';
import type { ImageFacts } from './image-facts.js';
import { halvesDistance, hashHalves } from './perceptual-hash.js';
import { SPLITS, type SplitName } from './layout.js';

export interface ClassShare {
  name: string;
  count: number;
  fraction: number;
}

export interface SizeStatistics {
  minWidth: number;
  medianWidth: number;
  maxWidth: number;
  minHeight: number;
  medianHeight: number;
  maxHeight: number;
  totalBytes: number;
}

export interface SplitStatistics {
  split: SplitName;
  total: number;
  classes: ClassShare[];
  /** Largest class over smallest (1 = balanced); null when a class is empty or missing. */
  imbalanceRatio: number | null;
  /** Over the decodable images; null when there are none. */
  sizes: SizeStatistics | null;
  formats: { format: string; count: number }[];
}

export interface DuplicateGroup {
  contentHash: string;
  imageIds: string[];
  /** The copies sit in different splits: test images that training also sees. */
  crossSplit: boolean;
  /** The copies carry different labels. */
  conflictingLabels: boolean;
}

export interface NearDuplicatePair {
  trainImageId: string;
  testImageId: string;
  /** Differing bits of the 64-bit perceptual hashes (0 = the same picture, re-encoded). */
  distance: number;
}

export interface DatasetAnalysis {
  statistics: SplitStatistics[];
  duplicates: DuplicateGroup[];
  nearDuplicates: NearDuplicatePair[];
  /** All near-duplicate pairs, also when the list was cut. */
  nearDuplicateCount: number;
  /** Test images that are copies or near copies of training images. */
  leakedTestImages: number;
  leakageWarning: string | null;
  unreadable: { id: string; reason: string }[];
}

export interface AnalysisOptions {
  /** Perceptual hashes at most this many bits apart count as near-duplicates. */
  nearDuplicateDistance: number;
  /** Longest list of near-duplicate pairs returned. */
  maxPairs?: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : Math.round((s[mid - 1] + s[mid]) / 2);
}

function splitStatistics(split: SplitName, labels: string[], images: IndexedImage[], facts: (ImageFacts | null)[]): SplitStatistics {
  const counts = new Map(labels.map((label) => [label, 0]));
  for (const image of images) counts.set(image.label, (counts.get(image.label) ?? 0) + 1);
  const total = images.length;
  const classes = [...counts].map(([name, count]) => ({ name, count, fraction: total > 0 ? count / total : 0 }));
  const sizes = classes.map((c) => c.count);
  const imbalanceRatio = sizes.length >= 2 && Math.min(...sizes) > 0 ? Math.max(...sizes) / Math.min(...sizes) : null;
  const readable = facts.filter((f): f is ImageFacts => f !== null && f.width !== null && f.height !== null);
  const widths = readable.map((f) => f.width!);
  const heights = readable.map((f) => f.height!);
  const formats = new Map<string, number>();
  for (const f of readable) formats.set(f.format!, (formats.get(f.format!) ?? 0) + 1);
  return {
    split,
    total,
    classes,
    imbalanceRatio,
    sizes:
      readable.length === 0
        ? null
        : {
            minWidth: Math.min(...widths),
            medianWidth: median(widths),
            maxWidth: Math.max(...widths),
            minHeight: Math.min(...heights),
            medianHeight: median(heights),
            maxHeight: Math.max(...heights),
            totalBytes: images.reduce((sum, image) => sum + image.bytes, 0),
          },
    formats: [...formats].map(([format, count]) => ({ format, count })).sort((a, b) => b.count - a.count),
  };
}

function duplicateGroups(images: IndexedImage[]): DuplicateGroup[] {
  const byHash = new Map<string, IndexedImage[]>();
  for (const image of images) byHash.set(image.contentHash, [...(byHash.get(image.contentHash) ?? []), image]);
  return [...byHash]
    .filter(([, copies]) => copies.length > 1)
    .map(([contentHash, copies]) => ({
      contentHash,
      imageIds: copies.map((c) => c.id).sort(),
      crossSplit: new Set(copies.map((c) => c.split)).size > 1,
      conflictingLabels: new Set(copies.map((c) => c.label)).size > 1,
    }));
}

/** Train/test pairs of different files whose pictures are within `maxDistance` bits. */
function nearDuplicatePairs(train: { image: IndexedImage; hash: [number, number] }[], test: { image: IndexedImage; hash: [number, number] }[], maxDistance: number): NearDuplicatePair[] {
  const pairs: NearDuplicatePair[] = [];
  for (const t of test) {
    for (const r of train) {
      if (t.image.contentHash === r.image.contentHash) continue;
      const distance = halvesDistance(t.hash, r.hash);
      if (distance <= maxDistance) pairs.push({ trainImageId: r.image.id, testImageId: t.image.id, distance });
    }
  }
  return pairs.sort((a, b) => a.distance - b.distance || (a.testImageId < b.testImageId ? -1 : 1));
}

export async function analyzeDataset(index: DatasetIndex, options: AnalysisOptions): Promise<DatasetAnalysis> {
  const { images, labels } = await index.list();
  const facts = await index.factsOfAll(images);
  const statistics = SPLITS.filter((split) => labels[split].length > 0 || images.some((i) => i.split === split)).map((split) => {
    const members = images.map((image, i) => ({ image, facts: facts[i] })).filter((m) => m.image.split === split);
    return splitStatistics(
      split,
      labels[split],
      members.map((m) => m.image),
      members.map((m) => m.facts),
    );
  });

  const hashed = images.flatMap((image, i) => (facts[i]?.perceptualHash ? [{ image, hash: hashHalves(facts[i]!.perceptualHash!) }] : []));
  const pairs = nearDuplicatePairs(
    hashed.filter((h) => h.image.split === 'train'),
    hashed.filter((h) => h.image.split === 'test'),
    options.nearDuplicateDistance,
  );
  const duplicates = duplicateGroups(images);

  const trainHashes = new Set(images.filter((i) => i.split === 'train').map((i) => i.contentHash));
  const leaked = new Set<string>();
  for (const image of images) if (image.split === 'test' && trainHashes.has(image.contentHash)) leaked.add(image.id);
  for (const pair of pairs) leaked.add(pair.testImageId);
  const testTotal = images.filter((i) => i.split === 'test').length;
  const leakageWarning =
    leaked.size === 0
      ? null
      : `${leaked.size} of ${testTotal} test images also appear in the training split (identical or nearly so): the test metrics overstate how well a model trained here does on new images. Remove or move them.`;

  return {
    statistics,
    duplicates,
    nearDuplicates: pairs.slice(0, options.maxPairs ?? 200),
    nearDuplicateCount: pairs.length,
    leakedTestImages: leaked.size,
    leakageWarning,
    unreadable: images.flatMap((image, i) => (facts[i]?.problem ? [{ id: image.id, reason: facts[i]!.problem! }] : [])),
  };
}
