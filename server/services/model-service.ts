// The active model version as a service: loads it in the background, answers classifications,
// and swaps it atomically on promote/rollback so requests never see a half-loaded model.
import { Classifier } from '../ml/classifier.js';
import { Screener, type Assessment, type Screening, type ScreeningOptions, type ScreeningSettings } from '../ml/screening.js';
import { decodeImage, type DecodedImage, type ImageLimits } from '../ml/preprocess.js';
import type { ModelMetadata } from '../ml/types.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { ClassifyBatcher, type BatcherStats, type BatchingOptions } from './classify-batcher.js';
import { ServiceError } from './service-error.js';

export interface ModelServiceStatus {
  ready: boolean;
  /** Why no model serves (still loading, none trained, damaged), null when ready. */
  reason: string | null;
  activeVersion: string | null;
  imageSize: number | null;
  classNames: string[] | null;
  positiveClass: string | null;
  threshold: number | null;
}

export type ClassificationOrError = Screening | { error: { code: string; reason?: string; message: string } };

function errorOf(reason: unknown): { code: string; reason?: string; message: string } {
  const { code, reason: why } = (reason ?? {}) as { code?: unknown; reason?: unknown };
  return {
    code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR',
    ...(typeof why === 'string' ? { reason: why } : {}),
    message: reason instanceof Error ? reason.message : String(reason),
  };
}

export class ModelService {
  private readonly registry: ModelRegistry;
  private readonly imageLimits: Partial<ImageLimits>;
  private classifier: Classifier | null = null;
  private reason: string | null = 'the model is loading';
  private reloading: Promise<void> = Promise.resolve();
  private readonly batcher: ClassifyBatcher<Classifier>;
  private readonly screeningSettings: Partial<ScreeningSettings>;
  private readonly screeners = new WeakMap<Classifier, Screener>();
  // The batched pass computes more than the probability (every test-time view, the embedding
  // distance); each image's full assessment waits here, keyed by its pixels, until its request takes it.
  private readonly assessments = new WeakMap<Uint8Array, Assessment>();

  constructor(options: { registry: ModelRegistry; imageLimits?: Partial<ImageLimits>; batching?: Partial<BatchingOptions>; screening?: Partial<ScreeningSettings> }) {
    this.registry = options.registry;
    this.imageLimits = options.imageLimits ?? {};
    this.screeningSettings = options.screening ?? {};
    this.batcher = new ClassifyBatcher((classifier, images) => this.assessBatch(classifier, images), options.batching);
  }

  private screenerOf(classifier: Classifier): Screener {
    let screener = this.screeners.get(classifier);
    if (!screener) {
      screener = new Screener(classifier, this.screeningSettings);
      this.screeners.set(classifier, screener);
    }
    return screener;
  }

  private assessBatch(classifier: Classifier, images: Uint8Array[]): number[] {
    const assessed = this.screenerOf(classifier).assess(images);
    images.forEach((pixels, k) => this.assessments.set(pixels, assessed[k]!));
    return assessed.map((a) => a.probability);
  }

  /** Loads and warms the active version. Never throws: `status()` says what went wrong. */
  start(): Promise<void> {
    return this.reloadActive();
  }

  /** Re-reads the active pointer; reloads are serialised so the last promotion wins. */
  reloadActive(): Promise<void> {
    this.reloading = this.reloading.then(() => this.loadActive());
    return this.reloading;
  }

  private async loadActive(): Promise<void> {
    try {
      const version = await this.registry.activeVersion();
      if (!version) {
        const { activeProblem } = await this.registry.list();
        this.replace(null, activeProblem ?? 'no model has been trained yet');
        return;
      }
      if (this.classifier?.metadata.version === version) return;
      const { model, metadata } = await this.registry.load(version);
      const classifier = new Classifier(model, metadata, this.imageLimits);
      classifier.warmUp();
      this.replace(classifier, null);
    } catch (error) {
      // Keep serving the previous model if there is one: a bad promotion must not take the service down.
      const message = `cannot load the active model: ${error instanceof Error ? error.message : String(error)}`;
      if (!this.classifier) this.reason = message;
    }
  }

  private replace(next: Classifier | null, reason: string | null): void {
    const previous = this.classifier;
    this.classifier = next;
    this.reason = reason;
    // Images already decoded for the old model are classified by it; inference is synchronous,
    // so after this no request can be using it.
    this.batcher.flush();
    if (previous && previous !== next) previous.dispose();
  }

  status(): ModelServiceStatus {
    const m = this.classifier?.metadata;
    return {
      ready: this.classifier !== null,
      reason: this.classifier ? null : this.reason,
      activeVersion: m?.version ?? null,
      imageSize: m?.imageSize ?? null,
      classNames: m ? [...m.classNames] : null,
      positiveClass: m?.positiveClass ?? null,
      threshold: m?.threshold ?? null,
    };
  }

  private requireClassifier(): Classifier {
    if (!this.classifier) throw new ServiceError('MODEL_NOT_READY', `no model is ready: ${this.reason ?? 'unknown reason'}`);
    return this.classifier;
  }

  /** Decodes at the current model's size; decodes again if a swap changed the size meanwhile. */
  private async decodeFor(image: Buffer): Promise<{ classifier: Classifier; decoded: DecodedImage; ms: number }> {
    for (;;) {
      const size = this.requireClassifier().metadata.imageSize;
      const started = performance.now();
      const decoded = await decodeImage(image, size, this.imageLimits);
      const classifier = this.requireClassifier();
      if (classifier.metadata.imageSize === size) return { classifier, decoded, ms: performance.now() - started };
    }
  }

  /**
   * Concurrent calls share forward passes; OVERLOADED when too many are already in progress.
   * UnsuitableImageError when the input guard refuses the image.
   */
  classify(image: Buffer, options: ScreeningOptions = {}): Promise<Screening> {
    return this.batcher.admit(async () => {
      const { classifier, decoded, ms } = await this.decodeFor(image);
      const screener = this.screenerOf(classifier);
      const inspection = screener.inspect(decoded);
      const { inferenceMs } = await this.batcher.enqueue(classifier, decoded.pixels);
      const assessment = this.assessments.get(decoded.pixels)!;
      this.assessments.delete(decoded.pixels);
      return screener.complete({ decoded, inspection, bytes: image, preprocessMs: ms }, assessment, inferenceMs, options);
    });
  }

  batchingStats(): BatcherStats {
    return this.batcher.stats();
  }

  /** Every image decoded concurrently, the good ones classified in one forward pass; bad ones get their error. */
  async classifyMany(images: Buffer[]): Promise<ClassificationOrError[]> {
    this.requireClassifier();
    const decoded = await Promise.allSettled(images.map((image) => this.decodeFor(image)));
    const good = decoded.flatMap((d, i) => (d.status === 'fulfilled' ? [{ i, ...d.value }] : []));
    const results = new Array<ClassificationOrError>(images.length);
    decoded.forEach((d, i) => {
      if (d.status === 'rejected') results[i] = { error: errorOf(d.reason) };
    });
    if (good.length === 0) return results;
    const classifier = this.requireClassifier();
    const sameSize = good.every((g) => g.decoded.size === classifier.metadata.imageSize);
    if (!sameSize) return Promise.all(images.map((image) => this.classify(image).catch((e: unknown) => ({ error: errorOf(e) }))));
    const screener = this.screenerOf(classifier);
    const inspected = good.flatMap((g) => {
      try {
        return [{ ...g, image: { decoded: g.decoded, inspection: screener.inspect(g.decoded), bytes: images[g.i]!, preprocessMs: g.ms } }];
      } catch (error) {
        results[g.i] = { error: errorOf(error) };
        return [];
      }
    });
    if (inspected.length === 0) return results;
    const started = performance.now();
    const assessed = screener.assess(inspected.map((g) => g.decoded.pixels));
    const inferenceMs = (performance.now() - started) / inspected.length;
    for (const [k, g] of inspected.entries()) {
      results[g.i] = await screener.complete(g.image, assessed[k]!, inferenceMs).catch((error: unknown) => ({ error: errorOf(error) }));
    }
    return results;
  }

  listVersions(): Promise<{ versions: ModelMetadata[]; active: string | null; damaged: { version: string; reason: string }[] }> {
    return this.registry.list();
  }

  async getVersion(version: string): Promise<ModelMetadata | null> {
    const { versions } = await this.registry.list();
    return versions.find((v) => v.version === version) ?? null;
  }

  async promote(version: string): Promise<ModelMetadata> {
    await this.registry.promote(version);
    await this.reloadActive();
    return this.activeMetadataOrThrow(version);
  }

  async rollback(): Promise<ModelMetadata> {
    const version = await this.registry.rollback();
    await this.reloadActive();
    return this.activeMetadataOrThrow(version);
  }

  delete(version: string): Promise<void> {
    return this.registry.delete(version);
  }

  private async activeMetadataOrThrow(version: string): Promise<ModelMetadata> {
    const metadata = await this.getVersion(version);
    if (!metadata) throw new ServiceError('MODEL_NOT_READY', `version ${version} is active but could not be read back`);
    return metadata;
  }

  dispose(): void {
    this.replace(null, 'the service is shutting down');
  }
}
