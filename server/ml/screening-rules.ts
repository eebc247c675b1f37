// The model-free half of screening: the input guard's checks before inference, and the verdict
// after it (label, uncertainty-aware risk band, guard report). Needs only a version's metadata,
// so it runs where requests are handled while forward passes run where the model lives.
import { describeProbability, type Classification } from './classification.js';
import type { DecodedImage } from './preprocess.js';
import type { ModelMetadata } from './types.js';
import { InputGuard, type GuardReport, type Inspection } from './guard/input-guard.js';
import { riskBandWithUncertainty, viewInterval, type Uncertainty } from './uncertainty.js';
import { scoringViewsOf, singleView, testTimeViews, type TestTimeView } from './view-names.js';
import { riskBand } from './risk.js';
import type { Explanation } from './explain/explanation.js';

/**
 * `all`: every image is scored under its eight flips and quarter turns, which gives the
 * probability interval and lets a wide one mark the result uncertain (about eight times the
 * compute). `single`: the image as it is, one forward pass, no interval: for throughput.
 */
export type ScreeningViews = 'all' | 'single';
export const screeningViewModes: readonly ScreeningViews[] = ['all', 'single'];

export interface ScreeningSettings {
  views: ScreeningViews;
  /** An interval over test-time views wider than this makes the risk band "uncertain". */
  maxSpread: number;
  /** Longer side of the heatmap pictures, in pixels. */
  heatmapMaxSide: number;
}

export const defaultScreeningSettings: ScreeningSettings = { views: 'all', maxSpread: 0.3, heatmapMaxSide: 512 };

export interface ScreeningOptions {
  /** Also compute the Grad-CAM heatmap (costs a backward pass and two PNG encodings). */
  explain?: boolean;
}

/** What the batched forward pass found for one image. */
export interface Assessment {
  probability: number;
  /** The spread over test-time views; null when only the image as it is was scored (views: single). */
  uncertainty: Uncertainty | null;
  /** Embedding distance to the training images; null when the guard is off. */
  distance: number | null;
}

/** Calibrated scores of images under some test-time views: `scores[v][i]` is image i under `views[v]`. */
export interface ScoredViews {
  views: TestTimeView[];
  scores: ArrayLike<number>[];
  /** Each image's embedding distance; null when the guard is off or identity was not scored. */
  distances: (number | null)[];
}

/** The views a screening mode scores: all eight, or the image as it is. */
export function viewsScoredFor(mode: ScreeningViews): readonly TestTimeView[] {
  return mode === 'all' ? testTimeViews : singleView;
}

/**
 * Assessments from the scores of the views `mode` needs, wherever they were computed (one
 * inference thread, or several sharing a lone image's views). With 'all' the probability is the
 * version's own (the mean over its views), so it matches what its threshold was chosen on, and
 * the interval spans all eight views; with 'single' it is the image as it is, with no interval.
 */
export function assessmentsFrom(metadata: Pick<ModelMetadata, 'testTimeViews'>, scored: ScoredViews, mode: ScreeningViews): Assessment[] {
  const scoresOf = (view: TestTimeView) => {
    const v = scored.views.indexOf(view);
    if (v < 0) throw new RangeError(`the ${view} view was not scored`);
    return scored.scores[v]!;
  };
  const averaged = (mode === 'all' ? scoringViewsOf(metadata) : singleView).map(scoresOf);
  const all = mode === 'all' ? testTimeViews.map(scoresOf) : null;
  return scored.distances.map((distance, i) => ({
    probability: averaged.reduce((sum, scores) => sum + scores[i]!, 0) / averaged.length,
    uncertainty: all ? viewInterval(all.map((scores) => scores[i]!)) : null,
    distance,
  }));
}

export interface Screening extends Classification {
  uncertainty: Uncertainty | null;
  guard: GuardReport;
  explanation: Explanation | null;
}

/** One image between the batched steps. */
export interface InspectedImage {
  decoded: DecodedImage;
  inspection: Inspection;
  bytes: Buffer;
  preprocessMs: number;
}

/** The model-free half of screening: the guard's checks before inference and the verdict after it. */
export class ScreeningRules {
  readonly guard: InputGuard;
  readonly settings: ScreeningSettings;

  constructor(
    readonly metadata: ModelMetadata,
    settings: Partial<ScreeningSettings> = {},
  ) {
    this.settings = { ...defaultScreeningSettings, ...settings };
    this.guard = InputGuard.forModel(metadata);
  }

  /** Resolution, quality and appearance checks, before any inference. Throws UnsuitableImageError. */
  inspect(decoded: DecodedImage): Inspection {
    return this.guard.inspect(decoded);
  }

  /** The class whose evidence a heatmap of this probability shows: the predicted one. */
  explainedClass(probability: number): 0 | 1 {
    return probability >= this.metadata.threshold ? 1 : 0;
  }

  /** The result for an inspected and assessed image. Throws UnsuitableImageError when it lies too far from the training images. */
  conclude(image: InspectedImage, assessment: Assessment, inferenceMs: number, explanation: Explanation | null): Screening {
    const guard = this.guard.conclude(image.inspection, assessment.distance);
    const description = describeProbability(this.metadata, assessment.probability);
    const band = assessment.uncertainty
      ? riskBandWithUncertainty(assessment.probability, description.threshold, assessment.uncertainty, this.settings.maxSpread)
      : riskBand(assessment.probability, description.threshold);
    return {
      ...description,
      riskBand: band,
      preprocessMs: image.preprocessMs,
      inferenceMs,
      original: image.decoded.original,
      uncertainty: assessment.uncertainty,
      guard,
      explanation,
    };
  }
}

