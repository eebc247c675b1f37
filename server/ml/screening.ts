// Screening one image end to end on top of a Classifier: the input guard, the probability with
// its spread over test-time views, the uncertainty-aware risk band, and on request the heatmap.
// Split into steps so a server can batch the forward pass (`assess`) across requests.
import { Classifier, type Classification } from './classifier.js';
import { decodeImage, pixelsToTensor, type DecodedImage } from './preprocess.js';
import { testTimeViews } from './tta.js';
import { scoreViewsBatched } from './view-batch.js';
import { embed } from './model-anatomy.js';
import { InputGuard, type GuardReport, type Inspection } from './guard/input-guard.js';
import { riskBandWithUncertainty, viewInterval, type Uncertainty } from './uncertainty.js';
import { explainPrediction, type Explanation } from './explain/explanation.js';

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

export class Screener {
  readonly guard: InputGuard;
  private readonly settings: ScreeningSettings;
  /** Positions in `testTimeViews` of the views the version's own probability averages. */
  private readonly scoringViews: number[];

  constructor(
    readonly classifier: Classifier,
    settings: Partial<ScreeningSettings> = {},
  ) {
    this.settings = { ...defaultScreeningSettings, ...settings };
    this.guard = InputGuard.forModel(classifier.metadata);
    this.scoringViews = classifier.views.map((view) => testTimeViews.indexOf(view));
  }

  /** Resolution, quality and appearance checks, before any inference. Throws UnsuitableImageError. */
  inspect(decoded: DecodedImage): Inspection {
    return this.guard.inspect(decoded);
  }

  /**
   * The eight test-time views of the whole batch in as few forward passes as memory allows, plus
   * the embedding pass when the guard is on. The probability is the version's own (its views and
   * temperature), so it matches what the threshold was chosen on; the interval spans all eight views.
   */
  assess(images: Uint8Array[]): Assessment[] {
    const { model, metadata } = this.classifier;
    const x = pixelsToTensor(images, metadata.imageSize);
    try {
      const views = scoreViewsBatched(model, x, testTimeViews, metadata.temperature ?? 1);
      const embeddings = this.guard.active ? embed(model, x) : null;
      return images.map((_, i) => {
        const perView = views.map((scores) => scores[i]!);
        const probability = this.scoringViews.reduce((sum, v) => sum + perView[v]!, 0) / this.scoringViews.length;
        const distance = embeddings ? this.guard.distanceOf(embeddings.values.subarray(i * embeddings.dim, (i + 1) * embeddings.dim)) : null;
        return { probability, uncertainty: viewInterval(perView), distance };
      });
    } finally {
      x.dispose();
    }
  }

  /** The result for an inspected and assessed image. Throws UnsuitableImageError when it lies too far from the training images. */
  async complete(image: InspectedImage, assessment: Assessment, inferenceMs: number, options: ScreeningOptions = {}): Promise<Screening> {
    const guard = this.guard.conclude(image.inspection, assessment.distance);
    const description = this.classifier.describe(assessment.probability);
    const riskBand = riskBandWithUncertainty(assessment.probability, description.threshold, assessment.uncertainty, this.settings.maxSpread);
    const explanation = options.explain
      ? await explainPrediction(this.classifier.model, image.decoded, image.bytes, description.positive ? 1 : 0, this.settings.heatmapMaxSide)
      : null;
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

  /** Every step for one image, unbatched (the command line). */
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
