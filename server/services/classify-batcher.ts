// Concurrent classifications share forward passes: a batch of 16 images costs far less than 16
// passes of one. Up to `concurrentPasses` passes run at once (one per inference thread: more
// could only queue), and images that arrive while they run join the next one, so batches grow
// with the load by themselves. Admission is bounded, so an overloaded server refuses at once
// (OVERLOADED) instead of letting every request wait longer and longer.
import { ServiceError } from './service-error.js';

export interface BatchingOptions {
  /** Most images in one forward pass. */
  maxBatch: number;
  /** Longest an image waits for others to join its batch. */
  maxDelayMs: number;
  /** Most classifications admitted at once (decoding, waiting or being inferred); more are refused. */
  maxPending: number;
  /** Most forward passes under way at once. */
  concurrentPasses: number;
}

// 8 images a pass rather than 16: under 50 clients passes of ~12 made a request that just missed
// one wait for two long ones. Five alternated pairs: p99 4-19 ms lower in four (7 higher in one),
// 2-9 % fewer images per second; still ~3x one client's throughput. With all eight views a pass
// of 8 images is also exactly what one forward pass takes (64 samples).
export const defaultBatchingOptions: BatchingOptions = { maxBatch: 8, maxDelayMs: 3, maxPending: 64, concurrentPasses: 1 };

export interface BatchedResult<R> {
  result: R;
  /** This image's share of its pass's time (from sending the batch to getting its answers). */
  inferenceMs: number;
  batchSize: number;
}

export interface BatcherStats {
  /** Classifications admitted and not yet finished. */
  pending: number;
  batches: number;
  images: number;
  largestBatch: number;
  refused: number;
}

interface Waiting<M, R> {
  model: M;
  pixels: Uint8Array;
  resolve(result: BatchedResult<R>): void;
  reject(error: unknown): void;
}

/** One forward pass for images of one model (same size): one result per image, in order. */
export type BatchPredict<M, R> = (model: M, images: Uint8Array[]) => Promise<ArrayLike<R>> | ArrayLike<R>;

export class ClassifyBatcher<M, R = number> {
  private readonly options: BatchingOptions;
  private admitted = 0;
  private queue: Waiting<M, R>[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Passes under way, and the images in them. */
  private passes = 0;
  private inPasses = 0;
  private readonly counts = { batches: 0, images: 0, largestBatch: 0, refused: 0 };

  constructor(
    private readonly predict: BatchPredict<M, R>,
    options: Partial<BatchingOptions> = {},
  ) {
    this.options = { ...defaultBatchingOptions, ...options };
    const { maxBatch, maxDelayMs, maxPending, concurrentPasses } = this.options;
    const positiveInteger = (n: number) => Number.isInteger(n) && n >= 1;
    if (!(positiveInteger(maxBatch) && maxDelayMs >= 0 && positiveInteger(maxPending) && positiveInteger(concurrentPasses))) {
      throw new RangeError(`invalid batching options ${JSON.stringify(this.options)}`);
    }
  }

  /** Runs one classification (`work` decodes, then calls `enqueue`), or refuses it at once when too many are in flight. */
  async admit<T>(work: () => Promise<T>): Promise<T> {
    if (this.admitted >= this.options.maxPending) {
      this.counts.refused++;
      throw new ServiceError('OVERLOADED', `the server is busy: ${this.admitted} classifications are in progress; retry shortly`);
    }
    this.admitted++;
    try {
      return await work();
    } finally {
      this.admitted--;
      // One fewer classification can still join: the waiting ones may not need to wait any more.
      this.schedule();
    }
  }

  /** Waits for `pixels` to be classified in a batch with whatever else arrives within the delay. */
  enqueue(model: M, pixels: Uint8Array): Promise<BatchedResult<R>> {
    return new Promise((resolve, reject) => {
      this.queue.push({ model, pixels, resolve, reject });
      this.schedule();
    });
  }

  /** Starts the next pass now with what is waiting, without waiting for the delay. */
  flush(): void {
    this.clearTimer();
    void this.runNext();
  }

  stats(): BatcherStats {
    return { pending: this.admitted, ...this.counts };
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const waiting = this.queue.length;
    // With every pass slot taken, the first pass to end schedules the next.
    if (waiting === 0 || this.passes >= this.options.concurrentPasses) return;
    // Nobody else admitted is still decoding: waiting longer cannot grow the batch, only delay it.
    if (waiting >= this.options.maxBatch || waiting >= this.admitted - this.inPasses) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.runNext();
    }, this.options.maxDelayMs);
  }

  private async runNext(): Promise<void> {
    if (this.passes >= this.options.concurrentPasses || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.passes++;
    this.inPasses += batch.length;
    // A free slot takes what is left now (or after the delay).
    this.schedule();
    try {
      // A model swap can leave images of two models in one queue: one pass per model.
      const byModel = new Map<M, Waiting<M, R>[]>();
      for (const item of batch) byModel.set(item.model, [...(byModel.get(item.model) ?? []), item]);
      for (const [model, items] of byModel) await this.runPass(model, items);
    } finally {
      this.passes--;
      this.inPasses -= batch.length;
      this.schedule();
    }
  }

  private async runPass(model: M, items: Waiting<M, R>[]): Promise<void> {
    const started = performance.now();
    let results: ArrayLike<R>;
    try {
      results = await this.predict(model, items.map((i) => i.pixels));
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    const inferenceMs = (performance.now() - started) / items.length;
    this.counts.batches++;
    this.counts.images += items.length;
    this.counts.largestBatch = Math.max(this.counts.largestBatch, items.length);
    items.forEach((item, k) => item.resolve({ result: results[k]!, inferenceMs, batchSize: items.length }));
  }
}
