// Concurrent classifications share forward passes: a batch of 16 images costs far less than 16
// passes of one. Admission is bounded, so an overloaded server refuses at once (OVERLOADED)
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

export interface BatchedPrediction {
  probability: number;
  /** This image's share of its batch's forward pass. */
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

interface Waiting<M> {
  model: M;
  pixels: Uint8Array;
  resolve(prediction: BatchedPrediction): void;
  reject(error: unknown): void;
}

/** `predict` runs one forward pass for images of one model (same size) and returns one probability each. */
export type BatchPredict<M> = (model: M, images: Uint8Array[]) => ArrayLike<number>;

export class ClassifyBatcher<M> {
  private readonly options: BatchingOptions;
  private admitted = 0;
  private queue: Waiting<M>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly counts = { batches: 0, images: 0, largestBatch: 0, refused: 0 };

  constructor(
    private readonly predict: BatchPredict<M>,
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
      this.scheduleFlush();
    }
  }

  /** Waits for `pixels` to be classified in a batch with whatever else arrives within the delay. */
  enqueue(model: M, pixels: Uint8Array): Promise<BatchedPrediction> {
    return new Promise((resolve, reject) => {
      this.queue.push({ model, pixels, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Classifies everything waiting now, e.g. before the model it was decoded for is disposed. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.queue;
    this.queue = [];
    for (let start = 0; start < waiting.length; start += this.options.maxBatch) {
      this.runBatch(waiting.slice(start, start + this.options.maxBatch));
    }
  }

  stats(): BatcherStats {
    return { pending: this.admitted, ...this.counts };
  }

  private scheduleFlush(): void {
    const waiting = this.queue.length;
    if (waiting === 0) return;
    // Nobody else admitted is still decoding: waiting longer cannot grow the batch, only delay it.
    if (waiting >= this.options.maxBatch || waiting >= this.admitted) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.options.maxDelayMs);
  }

  private runBatch(batch: Waiting<M>[]): void {
    // A model swap can leave images of two models in one queue: one pass per model.
    const byModel = new Map<M, Waiting<M>[]>();
    for (const item of batch) byModel.set(item.model, [...(byModel.get(item.model) ?? []), item]);
    for (const [model, items] of byModel) {
      const started = performance.now();
      let probabilities: ArrayLike<number>;
      try {
        probabilities = this.predict(model, items.map((i) => i.pixels));
      } catch (error) {
        for (const item of items) item.reject(error);
        continue;
      }
      const inferenceMs = (performance.now() - started) / items.length;
      this.counts.batches++;
      this.counts.images += items.length;
      this.counts.largestBatch = Math.max(this.counts.largestBatch, items.length);
      items.forEach((item, k) => item.resolve({ probability: probabilities[k]!, inferenceMs, batchSize: items.length }));
    }
  }
}
