// What a model version stores to refuse unsuitable images: fitted at training time on its own
// training and validation images, saved in its metadata as `inputGuard`.
import type { QualityLimits } from './image-quality.js';
import type { EmbeddingDensity } from './ood.js';

export const INPUT_GUARD_FORMAT = 'skin-cancer-detection/input-guard@1';

/** A density of training images and the largest distance from it still accepted. */
export interface DistanceLimit {
  density: EmbeddingDensity;
  maxDistance: number;
}

export interface InputGuardData {
  format: typeof INPUT_GUARD_FORMAT;
  quality: QualityLimits;
  /** Smallest accepted shorter side of the uploaded image: below it the model sees upscaled blur. */
  minSide: number;
  /** Where the training images lie in the network's penultimate embedding. */
  embedding: DistanceLimit;
  /** Where they lie in network-independent appearance statistics (see appearance.ts). */
  appearance: DistanceLimit;
  /** How the limits were fitted, and how many of the held-out images pass them. */
  fit: {
    /** Images the embedding density and quality limits were fitted on. */
    fittedOn: number;
    /** Held-out images the distance limit was chosen on (the fitting images when there were none). */
    heldOut: number;
    /** Each distance limit is this quantile of the held-out distances times `margin`. */
    quantile: number;
    margin: number;
    /** Share of the held-out images that pass every check. */
    heldOutPassRate: number;
  };
}

export function isInputGuardData(value: unknown): value is InputGuardData {
  const v = value as Partial<InputGuardData> | null | undefined;
  return v?.format === INPUT_GUARD_FORMAT && typeof v.minSide === 'number' && typeof v.quality === 'object' && v.quality !== null && isDistanceLimit(v.embedding) && isDistanceLimit(v.appearance);
}

function isDistanceLimit(value: unknown): value is DistanceLimit {
  const v = value as Partial<DistanceLimit> | null | undefined;
  const d = v?.density;
  return typeof v?.maxDistance === 'number' && Array.isArray(d?.mean) && Array.isArray(d.components) && Array.isArray(d.variances) && d.mean.length === d.dim;
}
