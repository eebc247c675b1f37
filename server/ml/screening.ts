// Screening one image end to end on top of a Classifier: the input guard, the probability with
// its spread over test-time views, the uncertainty-aware risk band, and on request the heatmap.
// The forward passes (`assessImages`) batch across requests and run where the model lives (the
// inference thread); the checks and the verdict (`ScreeningRules`) need only the metadata.
import type { Classifier } from './classifier.js';
import { decodeImage, pixelsToTensor, type DecodedImage } from './preprocess.js';
import type { TestTimeView } from './view-names.js';
import { scoreViewsBatched } from './view-batch.js';
import type { InputGuard, Inspection } from './guard/input-guard.js';
import { explanationMap, renderExplanation, type Explanation } from './explain/explanation.js';

export { defaultScreeningSettings, ScreeningRules } from './screening-rules.js';
export type { Assessment, InspectedImage, ScoredViews, Screening, ScreeningOptions, ScreeningSettings, ScreeningViews } from './screening-rules.js';
import { assessmentsFrom, ScreeningRules, viewsScoredFor, type Assessment, type InspectedImage, type ScoredViews, type Screening, type ScreeningOptions, type ScreeningSettings, type ScreeningViews } from './screening-rules.js';

/**
 * Calibrated scores of `images` under `views` in as few forward passes as memory allows, and,
 * when identity is among them, the guard's embedding distances from the same passes.
 */
export function scoreImageViews(classifier: Classifier, guard: InputGuard, images: Uint8Array[], views: readonly TestTimeView[]): ScoredViews {
  const { model, metadata } = classifier;
  const x = pixelsToTensor(images, metadata.imageSize);
  try {
    const embed = guard.active && views.includes('identity');
    const { scores, embeddings } = scoreViewsBatched(model, x, views, metadata.temperature ?? 1, { embed });
    const distances = images.map((_, i) => (embeddings ? guard.distanceOf(embeddings.values.subarray(i * embeddings.dim, (i + 1) * embeddings.dim)) : null));
    return { views: [...views], scores, distances };
  } finally {
    x.dispose();
  }
}

/** Every view `views` needs of a batch, scored here and combined (`assessmentsFrom`). */
export function assessImages(classifier: Classifier, guard: InputGuard, images: Uint8Array[], views: ScreeningViews = 'all'): Assessment[] {
  return assessmentsFrom(classifier.metadata, scoreImageViews(classifier, guard, images, viewsScoredFor(views)), views);
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
    return assessImages(this.classifier, this.rules.guard, images, this.rules.settings.views);
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
