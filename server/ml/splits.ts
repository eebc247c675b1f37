// Stratified, group-aware splits: every fold (or the validation split) gets about the same share
// of each class, and images of one group (near-duplicates) always land on the same side.
import { createRng } from './random.js';

/**
 * Fold number (0..folds-1) for every image. Groups are dealt, in a seeded random order, to the
 * fold holding the fewest images of the group's class so far (the class is the group's majority
 * label), so folds stay balanced even when some groups hold several images.
 */
export function stratifiedGroupFolds(labels: Uint8Array, folds: number, seed: number, groups?: readonly number[]): number[] {
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be an integer of at least 2, got ${folds}`);
  const members = groupMembers(labels, groups);
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

/** The images of each group (each image alone when there are no groups). */
function groupMembers(labels: Uint8Array, groups?: readonly number[]): Map<number, number[]> {
  if (groups && groups.length !== labels.length) throw new RangeError(`got ${groups.length} group numbers for ${labels.length} images`);
  const members = new Map<number, number[]>();
  labels.forEach((_, i) => {
    const group = groups ? groups[i]! : i;
    const list = members.get(group);
    if (list) list.push(i);
    else members.set(group, [i]);
  });
  return members;
}

/**
 * Holds out about `validationFraction` of each class (so validation has the class balance of the
 * whole), whole groups at a time: groups are taken in a seeded random order while they fit in
 * what the class has left to hold out. Without `groups` every image is its own group. A class of
 * two or more images holds out at least one when it can, and training keeps at least one image of
 * every class. Index lists come back sorted.
 */
export function stratifiedSplit(
  labels: Uint8Array,
  validationFraction: number,
  seed: number,
  groups?: readonly number[],
): { train: number[]; validation: number[] } {
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new RangeError(`validationFraction must be in [0, 1), got ${validationFraction}`);
  }
  const members = groupMembers(labels, groups);
  const rng = createRng(seed);
  const counts = [0, 1].map((label) => labels.filter((l) => l === label).length);
  const inTraining = [...counts];
  const validation: number[] = [];
  for (const label of [0, 1]) {
    let target = Math.round(validationFraction * counts[label]!);
    if (validationFraction > 0 && counts[label]! >= 2) target = Math.max(target, 1);
    target = Math.min(target, Math.max(counts[label]! - 1, 0));
    let held = 0;
    for (const images of rng.shuffle([...members.values()].filter((m) => majorityLabel(labels, m) === label))) {
      // A group may (rarely) hold both labels: only this class's images count towards its share,
      // and training must keep an image of each class.
      const taken = [0, 1].map((l) => images.filter((i) => labels[i] === l).length);
      if (held + taken[label]! > target || [0, 1].some((l) => taken[l]! > 0 && inTraining[l]! - taken[l]! < 1)) continue;
      validation.push(...images);
      held += taken[label]!;
      for (const l of [0, 1]) inTraining[l]! -= taken[l]!;
    }
  }
  const held = new Set(validation);
  const train: number[] = [];
  for (let i = 0; i < labels.length; i++) if (!held.has(i)) train.push(i);
  return { train, validation: validation.sort((a, b) => a - b) };
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
