// Inference on several threads, each a single-threaded backend with its own copy of the loaded
// versions. A batch is split into one contiguous shard per idle thread and answered in order;
// fewer images than idle threads (a lone request) scored under all eight views share the views
// among those threads instead; a heatmap, or a batch when at most one thread is idle, goes to
// the thread with the least work in hand. Why not one thread on the threaded WASM build: this
// project's kernels (Winograd with SIMD products) run on one thread only, and two one-thread
// workers classified ~800 images/s at 96 px where the threaded build's XNNPACK managed ~500
// (docs/performance.md). Each thread is replaced when it dies, as before.
import os from 'node:os';
import type { BackendInfo } from '../ml/backend-info.js';
import type { ActivationMap } from '../ml/explain/grad-cam.js';
import { assessmentsFrom, defaultScreeningSettings, type Assessment, type ScreeningViews } from '../ml/screening-rules.js';
import { testTimeViews } from '../ml/view-names.js';
import type { ModelMetadata } from '../ml/types.js';
import type { InferenceMemory } from './inference-protocol.js';
import { InferenceThread, type InferenceThreadOptions } from './inference-thread.js';
import { shardRanges } from '../util/shard-ranges.js';

export interface InferencePoolOptions extends InferenceThreadOptions {
  /** Threads in the pool; by default `backend.threads`, else one per core. */
  threads?: number;
}

export class InferencePool {
  private readonly threads: InferenceThread[];
  /** Requests each thread has in hand, to send lone ones where they wait least. */
  private readonly inHand: number[];
  private readonly views: ScreeningViews;
  /** The backend of the threads; `threads` is the pool's total. Rejects when none initialises. */
  readonly backend: Promise<BackendInfo>;

  constructor(options: InferencePoolOptions) {
    const count = Math.max(1, options.threads ?? options.backend.threads ?? os.availableParallelism());
    this.threads = Array.from({ length: count }, () => new InferenceThread({ ...options, backend: { ...options.backend, threads: 1 } }));
    this.inHand = this.threads.map(() => 0);
    this.views = options.screening.views ?? defaultScreeningSettings.views;
    this.backend = Promise.all(this.threads.map((t) => t.backend)).then((infos) => ({
      ...infos[0]!,
      threads: infos.reduce((sum, info) => sum + info.threads, 0),
    }));
    this.backend.catch(() => undefined);
  }

  get size(): number {
    return this.threads.length;
  }

  get restarts(): number {
    return this.threads.reduce((sum, t) => sum + t.restarts, 0);
  }

  /** Loads and warms `version` in every thread; answers its metadata. */
  async load(version: string): Promise<ModelMetadata> {
    const [metadata] = await Promise.all(this.threads.map((t) => t.load(version)));
    return metadata!;
  }

  /** Starts loading `version` ahead of need (start-up); a failure is left for the real `load` to report. */
  preload(version: string): void {
    this.load(version).catch(() => undefined);
  }

  unload(version: string): void {
    for (const t of this.threads) t.unload(version);
  }

  /**
   * A batch is split across the threads that have nothing in hand; if one or none has, the
   * least busy takes it whole. So a lone batch uses every core, and under load each thread
   * runs whole batches of its own instead of every batch waiting for the slower of two shards.
   * `metadata`: of a version loaded with `load` (its views combine a lone image's shared ones).
   */
  async assess(metadata: ModelMetadata, images: Uint8Array[]): Promise<Assessment[]> {
    const { version } = metadata;
    const idle = this.threads.map((_, k) => k).filter((k) => this.inHand[k] === 0);
    if (this.views === 'all' && idle.length >= 2 && images.length < idle.length) return this.assessByViews(metadata, images, idle);
    if (images.length < 2 || idle.length < 2) return this.onLeastBusy((t) => t.assess(version, images));
    const shards = shardRanges(images.length, idle.length);
    const answers = await Promise.all(
      shards.map(({ start, count }, i) => (count > 0 ? this.on(idle[i]!, (t) => t.assess(version, images.slice(start, start + count))) : [])),
    );
    return answers.flat();
  }

  /**
   * A lone image's eight views are eight forward samples: each idle thread scores a contiguous
   * share of them, and they are combined here as one thread would (the guard's distance comes
   * with the identity view). One client at a time: ~26 ms of forward passes became ~15.
   */
  private async assessByViews(metadata: ModelMetadata, images: Uint8Array[], idle: number[]): Promise<Assessment[]> {
    const { version } = metadata;
    const shares = shardRanges(testTimeViews.length, idle.length);
    const parts = await Promise.all(shares.map(({ start, count }, i) => this.on(idle[i]!, (t) => t.scoreViews(version, images, testTimeViews.slice(start, start + count)))));
    const withIdentity = parts.find((part) => part.views.includes('identity'))!;
    return assessmentsFrom(metadata, { views: parts.flatMap((p) => p.views), scores: parts.flatMap((p) => p.scores), distances: withIdentity.distances }, 'all');
  }

  explain(version: string, pixels: Uint8Array, targetClass: 0 | 1): Promise<ActivationMap> {
    return this.onLeastBusy((t) => t.explain(version, pixels, targetClass));
  }

  /** tfjs memory of all threads together (tests check it stays flat). */
  async memory(): Promise<InferenceMemory> {
    const all = await Promise.all(this.threads.map((t) => t.memory()));
    return { numTensors: all.reduce((sum, m) => sum + m.numTensors, 0), numBytes: all.reduce((sum, m) => sum + m.numBytes, 0) };
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }

  /** Kills the first thread as a crash would (fault-injection tests). */
  crashForTesting(): Promise<number> {
    return this.threads[0]!.crashForTesting();
  }

  private onLeastBusy<T>(work: (thread: InferenceThread) => Promise<T>): Promise<T> {
    const k = this.inHand.indexOf(Math.min(...this.inHand));
    return this.on(k, work);
  }

  private async on<T>(k: number, work: (thread: InferenceThread) => Promise<T>): Promise<T> {
    this.inHand[k]!++;
    try {
      return await work(this.threads[k]!);
    } finally {
      this.inHand[k]!--;
    }
  }
}
