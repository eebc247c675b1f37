// Screening one image end to end on top of a Classifier: the input guard, the probability with
// its spread over test-time views, the uncertainty-aware risk band, and on request the heatmap.
// Split into steps so a server can batch the forward pass (`assess`) across requests and run it
// where the model lives (a worker thread), while the checks and the verdict (`ScreeningRules`)
// need only the version's metadata.
import { describeProbability, type Classifier, type Classification } from './classifier.js';
import { decodeImage, pixelsToTensor, type DecodedImage } from './preprocess.js';
import { testTimeViews } from './tta.js';
import { scoreViewsBatched } from './view-batch.js';
import { embed } from './model-anatomy.js';
import type { ModelMetadata } from './types.js';
import { InputGuard, type GuardReport, type Inspection } from './guard/input-guard.js';
import { riskBandWithUncertainty, viewInterval, type Uncertainty } from './uncertainty.js';
import { explanationMap, renderExplanation, type Explanation } from './explain/explanation.js';

export interface ScreeningSettings {
  /** An interval over test-time views wider than this makes the risk band "uncertain". */
  maxSpread: number;
  /** Longer side of the heatmap pictures, in pixels. */
  heatmapMaxSide: number;
}

export const defaultScreeningSettings: ScreeningSettings = { maxSpread: 0.3, heatmapMaxSide: 512 };

export interface ScreeningOptions {
  /** Also compute the Grad-CAM heatmap (costs a backward pass and two PNG encodings). */
  explain?: boolean;
}

/** What the batched forward pass found for one image. */
export interface Assessment {
  probability: number;
  uncertainty: Uncertainty;
  /** Embedding distance to the training images; null when the guard is off. */
  distance: number | null;
}

export interface Screening extends Classification {
  uncertainty: Uncertainty;
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
    const riskBand = riskBandWithUncertainty(assessment.probability, description.threshold, assessment.uncertainty, this.settings.maxSpread);
    return {
      ...description,
      riskBand,
      preprocessMs: image.preprocessMs,
      inferenceMs,
      original: image.decoded.original,
      uncertainty: assessment.uncertainty,
      guard,
      explanation,
    };
  }
}

/**
 * The eight test-time views of a batch in as few forward passes as memory allows, plus the
 * embedding pass when the guard is on. The probability is the version's own (its views and
 * temperature), so it matches what the threshold was chosen on; the interval spans all eight views.
 */
export function assessImages(classifier: Classifier, guard: InputGuard, images: Uint8Array[]): Assessment[] {
  const { model, metadata } = classifier;
  const scoringViews = classifier.views.map((view) => testTimeViews.indexOf(view));
  const x = pixelsToTensor(images, metadata.imageSize);
  try {
    const views = scoreViewsBatched(model, x, testTimeViews, metadata.temperature ?? 1);
    const embeddings = guard.active ? embed(model, x) : null;
    return images.map((_, i) => {
      const perView = views.map((scores) => scores[i]!);
      const probability = scoringViews.reduce((sum, v) => sum + perView[v]!, 0) / scoringViews.length;
      const distance = embeddings ? guard.distanceOf(embeddings.values.subarray(i * embeddings.dim, (i + 1) * embeddings.dim)) : null;
      return { probability, uncertainty: viewInterval(perView), distance };
    });
  } finally {
    x.dispose();
  }
}

/** Screening in one thread with the model at hand (the command line, tests). */
export class Screener {
  readonly rules: ScreeningRules;

  constructor(
    readonly classifier: Classifier,
    settings: Partial<ScreeningSettings> = {},
  ) {
    this.rules = new ScreeningRules(classifier.metadata, settings);
  }

  get guard(): InputGuard {
    return this.rules.guard;
  }

  inspect(decoded: DecodedImage): Inspection {
    return this.rules.inspect(decoded);
  }

  assess(images: Uint8Array[]): Assessment[] {
    return assessImages(this.classifier, this.rules.guard, images);
  }

  async complete(image: InspectedImage, assessment: Assessment, inferenceMs: number, options: ScreeningOptions = {}): Promise<Screening> {
    // The guard's verdict first: no heatmap is drawn for an image that is refused.
    this.rules.conclude(image, assessment, inferenceMs, null);
    let explanation: Explanation | null = null;
    if (options.explain) {
      const started = performance.now();
      const { decoded } = image;
      const map = explanationMap(this.classifier.model, decoded.pixels, decoded.size, this.rules.explainedClass(assessment.probability));
      explanation = await renderExplanation(map, image.bytes, decoded.original, performance.now() - started, this.rules.settings.heatmapMaxSide);
    }
    return this.rules.conclude(image, assessment, inferenceMs, explanation);
  }

  /** Every step for one image, unbatched. */
  async screen(bytes: Buffer, options: ScreeningOptions = {}, limits?: Parameters<typeof decodeImage>[2]): Promise<Screening> {
    const started = performance.now();
    const decoded = await decodeImage(bytes, this.classifier.metadata.imageSize, limits);
    const inspection = this.inspect(decoded);
    const preprocessMs = performance.now() - started;
    const inferenceStarted = performance.now();
    const [assessment] = this.assess([decoded.pixels]);
    const inferenceMs = performance.now() - inferenceStarted;
    return this.complete({ decoded, inspection, bytes, preprocessMs }, assessment!, inferenceMs, options);
  }
}
