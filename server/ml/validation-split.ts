// How a training run divides its training folder: a stratified, seeded validation split that keeps
// near-duplicate pictures on one side when asked. One function, so `rethreshold` rebuilds exactly
// the split a version was validated on from its recorded parameters.
import { subset, type LabelledImages } from './dataset.js';
import { nearDuplicateGroups, perceptualHashes } from './near-duplicates.js';
import { stratifiedSplit } from './splits.js';
import type { TrainingParams } from './types.js';

export interface ValidationSplit {
  train: LabelledImages;
  validation: LabelledImages;
  /** Near-duplicate group of every image, when they were kept together. */
  groups?: number[];
}

/** `groupNearDuplicates` absent (versions from before it existed) means image by image. */
export function validationSplit(all: LabelledImages, params: Pick<TrainingParams, 'validationFraction' | 'seed' | 'groupNearDuplicates'>): ValidationSplit {
  const groups = params.groupNearDuplicates ? nearDuplicateGroups(perceptualHashes(all)) : undefined;
  const split = stratifiedSplit(all.labels, params.validationFraction, params.seed, groups);
  return { train: subset(all, split.train), validation: subset(all, split.validation), ...(groups && { groups }) };
}
