// The active model version as a service: loads it in the background, answers classifications,
// and swaps it atomically on promote/rollback so requests never see a half-loaded model.
// Forward passes run in the inference threads; this thread decodes (sharp works off the event
// loop), runs the guard's cheap checks, batches, and draws heatmaps, so it stays free to answer.
import type { BackendInfo, BackendOptions } from '../ml/backend-info.js';
import { renderExplanation, type Explanation } from '../ml/explain/rendered-explanation.js';
import { defaultScreeningSettings, ScreeningRules, type Assessment, type InspectedImage, type Screening, type ScreeningOptions, type ScreeningSettings, type ScreeningViews } from '../ml/screening-rules.js';
import { decodeImage, type DecodedImage, type ImageLimits } from '../ml/decode.js';
import type { ModelMetadata } from '../ml/types.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { InferencePool } from '../inference/inference-pool.js';
import type { InferenceMemory } from '../inference/inference-protocol.js';
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

/** A version loaded in the inference threads, freed there once retired and no request uses it. */
interface ServedModel {
  metadata: ModelMetadata;
  rules: ScreeningRules;
  users: number;
  retired: boolean;
}

export interface ModelServiceOptions {
  registry: ModelRegistry;
  backend?: BackendOptions;
  imageLimits?: Partial<ImageLimits>;
  batching?: Partial<BatchingOptions>;
  screening?: Partial<ScreeningSettings>;
  /** Told when an inference thread died and was replaced. */
  onInferenceRestart?: (message: string) => void;
  /** Inference threads started earlier for this registry (start-up overlaps them with module loading). */
  inference?: InferencePool;
  /** Told after promote/rollback made a version active (other replicas reload it). */
  onActivated?: (version: string) => void;
}

export class ModelService {
  private readonly registry: ModelRegistry;
  private readonly imageLimits: Partial<ImageLimits>;
  private served: ServedModel | null = null;
  private reason: string | null = 'the model is loading';
  private reloading: Promise<void> = Promise.resolve();
  private readonly inference: InferencePool;
  private readonly batcher: ClassifyBatcher<ServedModel, Assessment>;
  private readonly screeningSettings: ScreeningSettings;
  private readonly onActivated: (version: string) => void;

  constructor(options: ModelServiceOptions) {
    this.onActivated = options.onActivated ?? (() => undefined);
    this.registry = options.registry;
    this.imageLimits = options.imageLimits ?? {};
    this.screeningSettings = { ...defaultScreeningSettings, ...options.screening };
    this.inference =
      options.inference ??
      new InferencePool({
        modelsDir: this.registry.root,
        backend: options.backend ?? {},
        screening: this.screeningSettings,
        onRestart: options.onInferenceRestart,
      });
    // One pass per inference thread at a time: a thread busy with one batch can only queue another.
    this.batcher = new ClassifyBatcher((served, images) => this.inference.assess(served.metadata, images), {
      concurrentPasses: this.inference.size,
      ...options.batching,
    });
  }

  /** The tfjs backend inference runs on (rejects when none could be initialised). */
  backend(): Promise<BackendInfo> {
    return this.inference.backend;
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
      if (this.served?.metadata.version === version) return;
      const metadata = await this.inference.load(version);
      this.replace({ metadata, rules: new ScreeningRules(metadata, this.screeningSettings), users: 0, retired: false }, null);
    } catch (error) {
      // Keep serving the previous model if there is one: a bad promotion must not take the service down.
      const message = `cannot load the active model: ${error instanceof Error ? error.message : String(error)}`;
      if (!this.served) this.reason = message;
    }
  }

  private replace(next: ServedModel | null, reason: string | null): void {
    const previous = this.served;
    this.served = next;
    this.reason = reason;
    if (previous && previous !== next) {
      previous.retired = true;
      this.release(previous, 0);
    }
  }

  /** Requests hold the version they were decoded for until they are answered. */
  private hold(served: ServedModel): ServedModel {
    served.users++;
    return served;
  }

  private release(served: ServedModel, by = 1): void {
    served.users -= by;
    if (served.retired && served.users === 0) this.inference.unload(served.metadata.version);
  }

  status(): ModelServiceStatus {
    const m = this.served?.metadata;
    return {
      ready: this.served !== null,
      reason: this.served ? null : this.reason,
      activeVersion: m?.version ?? null,
      imageSize: m?.imageSize ?? null,
      classNames: m ? [...m.classNames] : null,
      positiveClass: m?.positiveClass ?? null,
      threshold: m?.threshold ?? null,
    };
  }

  private requireServed(): ServedModel {
    if (!this.served) throw new ServiceError('MODEL_NOT_READY', `no model is ready: ${this.reason ?? 'unknown reason'}`);
    return this.served;
  }

  /** Decodes at the current model's size; decodes again if a swap changed the size meanwhile. The caller releases the version. */
  private async decodeFor(image: Buffer): Promise<{ served: ServedModel; decoded: DecodedImage; ms: number }> {
    for (;;) {
      const size = this.requireServed().metadata.imageSize;
      const started = performance.now();
      const decoded = await decodeImage(image, size, this.imageLimits);
      const served = this.requireServed();
      if (served.metadata.imageSize === size) return { served: this.hold(served), decoded, ms: performance.now() - started };
    }
  }

  private async explain(served: ServedModel, image: InspectedImage, assessment: Assessment): Promise<Explanation> {
    const started = performance.now();
    const map = await this.inference.explain(served.metadata.version, image.decoded.pixels, served.rules.explainedClass(assessment.probability));
    return renderExplanation(map, image.bytes, image.decoded.original, performance.now() - started, served.rules.settings.heatmapMaxSide);
  }

  /** The verdict, with the heatmap when asked and the guard let the image through. */
  private async conclude(served: ServedModel, image: InspectedImage, assessment: Assessment, inferenceMs: number, options: ScreeningOptions): Promise<Screening> {
    const verdict = served.rules.conclude(image, assessment, inferenceMs, null);
    return options.explain ? { ...verdict, explanation: await this.explain(served, image, assessment) } : verdict;
  }

  /**
   * Concurrent calls share forward passes; OVERLOADED when too many are already in progress.
   * UnsuitableImageError when the input guard refuses the image.
   */
  classify(image: Buffer, options: ScreeningOptions = {}): Promise<Screening> {
    return this.batcher.admit(async () => {
      const { served, decoded, ms } = await this.decodeFor(image);
      try {
        // The forward pass is queued first and the guard's checks (~0.3-0.5 ms on this thread)
        // run while it is under way: an image the guard refuses costs a pass nobody reads, every
        // other one is answered that much sooner.
        const assessed = this.batcher.enqueue(served, decoded.pixels);
        // When the guard refuses the image, nobody awaits the pass: its failure is handled here
        // (awaiting it below still throws it).
        assessed.catch(() => undefined);
        const inspection = served.rules.inspect(decoded);
        const { result, inferenceMs } = await assessed;
        return await this.conclude(served, { decoded, inspection, bytes: image, preprocessMs: ms }, result, inferenceMs, options);
      } finally {
        this.release(served);
      }
    });
  }

  batchingStats(): BatcherStats {
    return this.batcher.stats();
  }

  /** tfjs memory of the inference threads together. */
  inferenceMemory(): Promise<InferenceMemory> {
    return this.inference.memory();
  }

  /** Times an inference thread died and was replaced. */
  inferenceRestarts(): number {
    return this.inference.restarts;
  }

  /** How many views of each image screening scores: 'all' eight, or 'single'. */
  get screeningViews(): ScreeningViews {
    return this.screeningSettings.views;
  }

  /** Kills an inference thread as a crash would (fault tests); the next requests get a new one. */
  crashInferenceForTesting(): Promise<number> {
    return this.inference.crashForTesting();
  }

  /** Every image decoded concurrently, the good ones classified in one forward pass; bad ones get their error. */
  async classifyMany(images: Buffer[]): Promise<ClassificationOrError[]> {
    this.requireServed();
    const decoded = await Promise.allSettled(images.map((image) => this.decodeFor(image)));
    const held = decoded.flatMap((d) => (d.status === 'fulfilled' ? [d.value.served] : []));
    try {
      return await this.classifyDecoded(images, decoded);
    } finally {
      for (const served of held) this.release(served);
    }
  }

  private async classifyDecoded(images: Buffer[], decoded: PromiseSettledResult<{ served: ServedModel; decoded: DecodedImage; ms: number }>[]): Promise<ClassificationOrError[]> {
    const good = decoded.flatMap((d, i) => (d.status === 'fulfilled' ? [{ i, ...d.value }] : []));
    const results = new Array<ClassificationOrError>(images.length);
    decoded.forEach((d, i) => {
      if (d.status === 'rejected') results[i] = { error: errorOf(d.reason) };
    });
    if (good.length === 0) return results;
    // A swap during decoding can leave images of two versions: the latest one answers them all.
    const served = good.at(-1)!.served;
    if (good.some((g) => g.served !== served)) return Promise.all(images.map((image) => this.classify(image).catch((e: unknown) => ({ error: errorOf(e) }))));
    const inspected = good.flatMap((g) => {
      try {
        return [{ i: g.i, image: { decoded: g.decoded, inspection: served.rules.inspect(g.decoded), bytes: images[g.i]!, preprocessMs: g.ms } }];
      } catch (error) {
        results[g.i] = { error: errorOf(error) };
        return [];
      }
    });
    if (inspected.length === 0) return results;
    const started = performance.now();
    const assessed = await this.inference.assess(
      served.metadata,
      inspected.map((g) => g.image.decoded.pixels),
    );
    const inferenceMs = (performance.now() - started) / inspected.length;
    for (const [k, g] of inspected.entries()) {
      results[g.i] = await this.conclude(served, g.image, assessed[k]!, inferenceMs, {}).catch((error: unknown) => ({ error: errorOf(error) }));
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
    this.onActivated(version);
    return this.activeMetadataOrThrow(version);
  }

  async rollback(): Promise<ModelMetadata> {
    const version = await this.registry.rollback();
    await this.reloadActive();
    this.onActivated(version);
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

  /** Stops serving and ends the inference threads. */
  async close(): Promise<void> {
    this.replace(null, 'the service is shutting down');
    await this.inference.close();
  }
}
