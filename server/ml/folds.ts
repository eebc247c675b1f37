// Stratified, group-aware assignment of images to cross-validation folds: every fold gets about
// the same share of each class, and images of one group (near-duplicates) always share a fold.
import { createRng } from './random.js';

/**
 * Fold number (0..folds-1) for every image. Groups are dealt, in a seeded random order, to the
 * fold holding the fewest images of the group's class so far (the class is the group's majority
 * label), so folds stay balanced even when some groups hold several images.
 */
export function stratifiedGroupFolds(labels: Uint8Array, folds: number, seed: number, groups?: readonly number[]): number[] {
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be an integer of at least 2, got ${folds}`);
  if (groups && groups.length !== labels.length) throw new RangeError(`got ${groups.length} group numbers for ${labels.length} images`);
  const members = new Map<number, number[]>();
  labels.forEach((_, i) => {
    const group = groups ? groups[i] : i;
    const list = members.get(group);
    if (list) list.push(i);
    else members.set(group, [i]);
  });
  for (const label of [0, 1]) {
    const count = labels.filter((l) => l === label).length;
    if (count > 0 && count < folds) throw new RangeError(`class ${label} has ${count} images, fewer than the ${folds} folds`);
  }

  const rng = createRng(seed);
  const fold = new Array<number>(labels.length).fill(-1);
  const filled = [0, 1].map(() => new Array<number>(folds).fill(0));
  for (const label of [0, 1]) {
    const units = rng.shuffle([...members.values()].filter((images) => majorityLabel(labels, images) === label));
    // Large groups first, so the small ones can even out what they leave.
    units.sort((a, b) => b.length - a.length);
    for (const images of units) {
      const target = filled[label].indexOf(Math.min(...filled[label]));
      for (const i of images) fold[i] = target;
      filled[label][target] += images.length;
    }
  }
  for (let k = 0; k < folds; k++) {
    for (const label of [0, 1]) {
      if (filled[label][k] === 0 && filled[label].some((n) => n > 0)) {
        throw new RangeError(`fold ${k} got no image of class ${label}: near-duplicate groups are too large for ${folds} folds`);
      }
    }
  }
  return fold;
}

function majorityLabel(labels: Uint8Array, images: number[]): number {
  const positives = images.filter((i) => labels[i] === 1).length;
  return positives * 2 > images.length ? 1 : 0;
}

/** Image indices in and out of one fold, sorted. */
export function foldSplit(folds: readonly number[], heldOut: number): { train: number[]; validation: number[] } {
  const train: number[] = [];
  const validation: number[] = [];
  folds.forEach((f, i) => (f === heldOut ? validation : train).push(i));
  return { train, validation };
}
