// The input guard of one model version: refuses, with a reason, images the model should not
// judge (too small, blurred, badly exposed, covered in noise or print, or unlike any training
// image) instead of returning a probability for them. A version saved without guard data serves
// unguarded and says so.
import type { DecodedImage } from '../preprocess.js';
import type { ModelMetadata } from '../types.js';
import { checkQuality, luminance, measureQuality, type QualityMeasures, type QualityProblem } from './image-quality.js';
import { describeAppearance } from './appearance.js';
import { embeddingDistance } from './ood.js';
import { ScratchFloats } from './scratch.js';
import { isInputGuardData, type DistanceLimit, type InputGuardData } from './guard-data.js';

export type UnsuitableReason = 'LOW_RESOLUTION' | QualityProblem | 'NOT_A_LESION';

export class UnsuitableImageError extends Error {
  readonly code = 'UNSUITABLE_IMAGE';
  constructor(
    readonly reason: UnsuitableReason,
    message: string,
  ) {
    super(message);
    this.name = 'UnsuitableImageError';
  }
}

/** What the guard measured before inference. */
export interface Inspection {
  quality: QualityMeasures;
  /** Distance of the image's appearance statistics to the training images'; null when off. */
  appearanceDistance: number | null;
}

/** What the guard found for an image it let through. */
export interface GuardReport {
  /** `passed`: every check ran and passed; `off`: this model version has no guard data. */
  status: 'passed' | 'off';
  note: string | null;
  quality: QualityMeasures;
  /** Distance of the network's embedding to the training images' (about 1 for a typical one); null when off. */
  distance: number | null;
  maxDistance: number | null;
  appearanceDistance: number | null;
  maxAppearanceDistance: number | null;
}

export const GUARD_OFF_NOTE = 'this model version was saved without input-guard data, so images are not checked; retrain to enable the check';

function tooFar(what: string, distance: number, limit: DistanceLimit): UnsuitableImageError {
  return new UnsuitableImageError(
    'NOT_A_LESION',
    `the image does not look like the skin-lesion photos this model was trained on (${what} distance ${distance.toFixed(2)}, limit ${limit.maxDistance.toFixed(2)})`,
  );
}

export class InputGuard {
  private readonly luminanceScratch = new ScratchFloats();

  private constructor(readonly data: InputGuardData | null) {}

  static forModel(metadata: Pick<ModelMetadata, 'inputGuard'>): InputGuard {
    return new InputGuard(isInputGuardData(metadata.inputGuard) ? metadata.inputGuard : null);
  }

  get active(): boolean {
    return this.data !== null;
  }

  /** Resolution, quality and appearance, before inference. Throws UnsuitableImageError. */
  inspect(decoded: DecodedImage): Inspection {
    const y = luminance(decoded.pixels, decoded.size, this.luminanceScratch.take(decoded.size * decoded.size));
    const quality = measureQuality(decoded.pixels, decoded.size, y);
    if (!this.data) return { quality, appearanceDistance: null };
    const { width, height } = decoded.original;
    if (Math.min(width, height) < this.data.minSide) {
      throw new UnsuitableImageError('LOW_RESOLUTION', `${width}x${height} is too small to judge: this model needs a shorter side of at least ${this.data.minSide} pixels`);
    }
    const finding = checkQuality(quality, this.data.quality);
    if (finding) throw new UnsuitableImageError(finding.problem, finding.message);
    const appearanceDistance = embeddingDistance(this.data.appearance.density, describeAppearance(decoded.pixels, decoded.size, y));
    if (!(appearanceDistance <= this.data.appearance.maxDistance)) throw tooFar('appearance', appearanceDistance, this.data.appearance);
    return { quality, appearanceDistance };
  }

  /** Distance of a penultimate embedding to the training images'; null when the guard is off. */
  distanceOf(embedding: ArrayLike<number>): number | null {
    return this.data ? embeddingDistance(this.data.embedding.density, embedding) : null;
  }

  /** The report for an inspected image whose embedding lies at `distance`. Throws UnsuitableImageError when too far. */
  conclude(inspection: Inspection, distance: number | null): GuardReport {
    const { quality, appearanceDistance } = inspection;
    if (!this.data || distance === null) {
      return { status: 'off', note: GUARD_OFF_NOTE, quality, distance: null, maxDistance: null, appearanceDistance: null, maxAppearanceDistance: null };
    }
    if (!(distance <= this.data.embedding.maxDistance)) throw tooFar('embedding', distance, this.data.embedding);
    return {
      status: 'passed',
      note: null,
      quality,
      distance,
      maxDistance: this.data.embedding.maxDistance,
      appearanceDistance,
      maxAppearanceDistance: this.data.appearance.maxDistance,
    };
  }
}
