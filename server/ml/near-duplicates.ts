// Groups of near-identical pictures in a decoded image set (the same lesion photo re-encoded,
// resized or slightly re-exposed), so that a validation split or a cross-validation fold never
// puts one copy in training and another in the images that judge the model.
import { HASH_SOURCE_SIZE, halvesDistance, hashHalves, perceptualHash } from '../dataset/perceptual-hash.js';
import type { LabelledImages } from './dataset.js';

/**
 * The 32x32 RGB box-average of one `size`x`size` image, the input `perceptualHash` expects.
 * Each target pixel averages the source pixels whose centres fall inside it.
 */
function downsample(pixels: Uint8Array, offset: number, size: number): Uint8Array {
  const side = HASH_SOURCE_SIZE;
  const out = new Uint8Array(side * side * 3);
  const sums = new Float64Array(side * side * 3);
  const counts = new Float64Array(side * side);
  for (let y = 0; y < size; y++) {
    const ty = Math.min(side - 1, Math.floor(((y + 0.5) * side) / size));
    for (let x = 0; x < size; x++) {
      const tx = Math.min(side - 1, Math.floor(((x + 0.5) * side) / size));
      const target = ty * side + tx;
      const source = offset + (y * size + x) * 3;
      sums[target * 3] += pixels[source];
      sums[target * 3 + 1] += pixels[source + 1];
      sums[target * 3 + 2] += pixels[source + 2];
      counts[target]++;
    }
  }
  for (let i = 0; i < counts.length; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(sums[i * 3 + c] / Math.max(1, counts[i]));
  }
  return out;
}

/**
 * Hash bits within which two training images count as near-duplicates. On the skin-lesion set's
 * training split, 6 bits finds 125 of the 137 near-duplicate pairs its manifest lists (4 bits:
 * 104), plus 81 pairs it does not list, in groups of at most 13 images.
 */
export const NEAR_DUPLICATE_BITS = 6;

/** Perceptual hash of every image in the set, in order. */
export function perceptualHashes(images: Pick<LabelledImages, 'size' | 'count' | 'pixels'>): string[] {
  const stride = images.size * images.size * 3;
  return Array.from({ length: images.count }, (_, i) => perceptualHash(downsample(images.pixels, i * stride, images.size)));
}

/** How many groups hold more than one image, and how many images those hold. */
export function sharedGroups(groups: readonly number[]): { groups: number; images: number } {
  const sizes = new Map<number, number>();
  for (const g of groups) sizes.set(g, (sizes.get(g) ?? 0) + 1);
  const shared = [...sizes.values()].filter((n) => n > 1);
  return { groups: shared.length, images: shared.reduce((a, b) => a + b, 0) };
}

/** "N near-duplicate groups of M images", for progress messages. */
export function describeGroups(groups: readonly number[]): string {
  const { groups: count, images } = sharedGroups(groups);
  return `${count} near-duplicate groups of ${images} images`;
}

/**
 * A group number per image: images whose perceptual hashes are at most `maxDistance` bits apart
 * share a group, and so does everything linked through a chain of such pairs. Groups are
 * numbered by their first image; an image with no near-duplicate is a group of its own.
 */
export function nearDuplicateGroups(hashes: readonly string[], maxDistance = NEAR_DUPLICATE_BITS): number[] {
  const parent = hashes.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const halves = hashes.map(hashHalves);
  for (let i = 0; i < halves.length; i++) {
    for (let j = i + 1; j < halves.length; j++) {
      if (halvesDistance(halves[i], halves[j]) > maxDistance) continue;
      const a = root(i);
      const b = root(j);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  }
  return hashes.map((_, i) => root(i));
}
