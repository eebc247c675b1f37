// A loaded model version ready to serve: bytes in, probability, label and risk band out.
import { tf } from './tf.js';
import { decodeImage, pixelsToTensor } from './preprocess.js';
import type { ImageLimits } from './preprocess.js';
import type { ModelMetadata } from './types.js';
import type { LabelledImages } from './dataset.js';
import { predictScores, type Scoring } from './predict.js';
import { predictViews, type TestTimeView } from './tta.js';
import { scoringViewsOf } from './view-names.js';

export type { Classification, Description } from './classification.js';
export { describeProbability } from './classification.js';
import { describeProbability, type Classification, type Description } from './classification.js';

/** How a stored version scores an image: its test-time views and calibration temperature. */
export function scoringOf(metadata: ModelMetadata): Required<Scoring> {
  return { views: scoringViewsOf(metadata), temperature: metadata.temperature ?? 1 };
}

export class Classifier {
  private readonly scoring: Required<Scoring>;

  constructor(
    readonly model: tf.LayersModel,
    readonly metadata: ModelMetadata,
    private readonly limits: Partial<ImageLimits> = {},
  ) {
    this.scoring = scoringOf(metadata);
  }

  /** The test-time views this version averages (just `identity` when it uses none). */
  get views(): readonly TestTimeView[] {
    return this.scoring.views;
  }

  /** Calibrated probabilities for already-decoded images, one forward pass per test-time view. */
  predictPixels(images: Uint8Array[]): Float32Array {
    const x = pixelsToTensor(images, this.metadata.imageSize);
    try {
      return predictViews(this.model, x, this.scoring).mean;
    } finally {
      x.dispose();
    }
  }

  /** Calibrated probabilities for a decoded image set, scored the way `predictPixels` scores uploads. */
  scoreImages(images: LabelledImages, batchSize = 64): Float32Array {
    return predictScores(this.model, images, batchSize, this.scoring);
  }

  describe(probability: number): Description {
    return describeProbability(this.metadata, probability);
  }

  async classify(image: Buffer): Promise<Classification> {
    const t0 = performance.now();
    const decoded = await decodeImage(image, this.metadata.imageSize, this.limits);
    const t1 = performance.now();
    const [probability] = this.predictPixels([decoded.pixels]);
    const t2 = performance.now();
    return { ...this.describe(probability), preprocessMs: t1 - t0, inferenceMs: t2 - t1, original: decoded.original };
  }

  /** One forward pass so the first real request does not pay for kernel set-up. */
  warmUp(): void {
    const size = this.metadata.imageSize;
    this.predictPixels([new Uint8Array(size * size * 3)]);
  }

  dispose(): void {
    this.model.dispose();
  }
}
