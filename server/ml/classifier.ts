// A loaded model version ready to serve: bytes in, probability, label and risk band out.
import { tf } from './tf.js';
import { decodeImage, pixelsToTensor, type DecodedImage } from './preprocess.js';
import type { ImageLimits } from './preprocess.js';
import { riskBand, DISCLAIMER, type RiskBand } from './risk.js';
import type { ModelMetadata } from './types.js';

export interface Classification {
  probability: number;
  label: string;
  positive: boolean;
  riskBand: RiskBand;
  threshold: number;
  modelVersion: string;
  preprocessMs: number;
  inferenceMs: number;
  original: DecodedImage['original'];
  disclaimer: string;
}

export class Classifier {
  constructor(
    readonly model: tf.LayersModel,
    readonly metadata: ModelMetadata,
    private readonly limits: Partial<ImageLimits> = {},
  ) {}

  /** Probabilities for already-decoded images, in one forward pass. */
  predictPixels(images: Uint8Array[]): Float32Array {
    const x = pixelsToTensor(images, this.metadata.imageSize);
    try {
      const p = tf.tidy(() => this.model.predict(x) as tf.Tensor);
      const values = p.dataSync() as Float32Array;
      p.dispose();
      return values;
    } finally {
      x.dispose();
    }
  }

  describe(probability: number): Pick<Classification, 'probability' | 'label' | 'positive' | 'riskBand' | 'threshold' | 'modelVersion' | 'disclaimer'> {
    const { threshold, classNames, version } = this.metadata;
    const positive = probability >= threshold;
    return {
      probability,
      label: positive ? classNames[1] : classNames[0],
      positive,
      riskBand: riskBand(probability, threshold),
      threshold,
      modelVersion: version,
      disclaimer: DISCLAIMER,
    };
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
