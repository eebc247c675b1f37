// Concurrent classifications share forward passes: a batch of 16 images costs far less than 16
// passes of one. Passes run one at a time (the inference thread could only queue them), and
// images that arrive during a pass join the next one, so batches grow with the load by
// themselves. Admission is bounded, so an overloaded server refuses at once (OVERLOADED)
// instead of letting every request wait longer and longer.
import { ServiceError } from './service-error.js';

export interface BatchingOptions {
  /** Most images in one forward pass. */
  maxBatch: number;
  /** Longest an image waits for others to join its batch. */
  maxDelayMs: number;
  /** Most classifications admitted at once (decoding, waiting or being inferred); more are refused. */
  maxPending: number;
}

export const defaultBatchingOptions: BatchingOptions = { maxBatch: 16, maxDelayMs: 3, maxPending: 64 };

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
  /** Images in the pass under way (0 when none is). */
  private inPass = 0;
  private passing = false;
  private readonly counts = { batches: 0, images: 0, largestBatch: 0, refused: 0 };

  constructor(
    private readonly predict: BatchPredict<M, R>,
    options: Partial<BatchingOptions> = {},
  ) {
    this.options = { ...defaultBatchingOptions, ...options };
    const { maxBatch, maxDelayMs, maxPending } = this.options;
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1 && maxDelayMs >= 0 && Number.isInteger(maxPending) && maxPending >= 1)) {
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
    // The pass under way schedules the next when it ends.
    if (waiting === 0 || this.passing) return;
    // Nobody else admitted is still decoding: waiting longer cannot grow the batch, only delay it.
    if (waiting >= this.options.maxBatch || waiting >= this.admitted - this.inPass) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.runNext();
    }, this.options.maxDelayMs);
  }

  private async runNext(): Promise<void> {
    if (this.passing || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.passing = true;
    this.inPass = batch.length;
    try {
      // A model swap can leave images of two models in one queue: one pass per model.
      const byModel = new Map<M, Waiting<M, R>[]>();
      for (const item of batch) byModel.set(item.model, [...(byModel.get(item.model) ?? []), item]);
      for (const [model, items] of byModel) await this.runPass(model, items);
    } finally {
      this.passing = false;
      this.inPass = 0;
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
