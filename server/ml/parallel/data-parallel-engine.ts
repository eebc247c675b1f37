// Data-parallel training on N worker threads, each with its own single-threaded WASM backend
// and replica of the model. Per batch: the coordinator copies the batch into shared memory;
// replica k loads the shared weights and computes the gradient of its contiguous shard (loss
// divided by the full batch size) into its own slot; the replicas meet at a barrier among
// themselves; then replica k adds up all slots, in replica order, and runs Adam on its own
// range of the shared weights. One message each way per replica and step. The step equals a
// single-threaded step on the whole batch up to float rounding, and is the same on every run.
// Exception: batch normalisation normalises each shard by its own statistics (PyTorch DDP
// without SyncBatchNorm); the model's moving statistics are the replicas' average.
import { tf } from '../tf.js';
import type { BatchArrays } from '../dataset.js';
import type { EngineSettings, StepOutcome, TrainingEngine } from '../training-engine.js';
import type { ReplicaMemory } from './protocol.js';
import { ReplicaHandle } from './replica-handle.js';
import { shardRanges } from '../../util/shard-ranges.js';
import { allocateSharedBuffers, flatLayout, optimizerViews, slotOf, statisticsSlot, type FlatLayout, type SharedBuffers } from './shared-buffers.js';

export interface DataParallelSettings extends EngineSettings {
  architecture: string;
  imageSize: number;
  seed: number;
  /** Largest batch the engine will be given. */
  maxBatch: number;
  /** Replica workers (compute threads). */
  threads: number;
}

const BATCH_NORM_STATISTICS = /(^|\/)moving_(mean|variance)(_\d+)?$/;

/**
 * Whether data parallelism can train this model (see docs/performance.md): the only
 * non-trainable weights it knows how to merge are batch-norm moving statistics.
 */
export function supportsDataParallel(model: tf.LayersModel): boolean {
  return model.nonTrainableWeights.every((w) => BATCH_NORM_STATISTICS.test(w.originalName));
}

export class DataParallelEngine implements TrainingEngine {
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly summed: Float32Array;
  private readonly weights: Float32Array;
  private readonly buffers: SharedBuffers;
  private disposed = false;

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly settings: DataParallelSettings,
    buffers: SharedBuffers,
    private readonly trainable: FlatLayout,
    private readonly statistics: FlatLayout,
    private readonly replicas: ReplicaHandle[],
  ) {
    this.buffers = buffers;
    this.x = new Float32Array(buffers.x);
    this.y = new Float32Array(buffers.y);
    ({ summed: this.summed, weights: this.weights } = optimizerViews(buffers, trainable));
  }

  get threads(): number {
    return this.replicas.length;
  }

  /** Starts `settings.threads` replicas of `model`, holding its current weights. */
  static async start(model: tf.LayersModel, settings: DataParallelSettings): Promise<DataParallelEngine> {
    if (!supportsDataParallel(model)) throw new RangeError('data-parallel training needs a model whose only non-trainable weights are batch-norm statistics');
    const trainable = flatLayout(model.trainableWeights.map((w) => w.shape as number[]));
    const statistics = flatLayout(model.nonTrainableWeights.map((w) => w.shape as number[]));
    const buffers = allocateSharedBuffers({ ...settings, replicas: settings.threads, trainable, statistics });
    const { weights } = optimizerViews(buffers, trainable);
    model.trainableWeights.forEach((w, i) => slotOf(weights, trainable, i).set(w.read().dataSync()));

    const { architecture, imageSize, seed, learningRate, classWeights } = settings;
    const weightDecay = settings.weightDecay ?? 0;
    const labelSmoothing = settings.labelSmoothing ?? 0;
    const optimizerRanges = shardRanges(trainable.length, settings.threads);
    const replicas = optimizerRanges.map(
      ({ start, count }, replica) =>
        new ReplicaHandle({
          replica,
          architecture,
          imageSize,
          seed,
          learningRate,
          classWeights,
          weightDecay,
          labelSmoothing,
          buffers,
          trainable,
          statistics,
          optimizerRange: { from: start, to: start + count },
        }),
    );
    try {
      await Promise.all(replicas.map((r) => r.ready));
    } catch (error) {
      await Promise.all(replicas.map((r) => r.terminate()));
      throw error;
    }
    return new DataParallelEngine(model, settings, buffers, trainable, statistics, replicas);
  }

  async step(batch: BatchArrays, learningRate = this.settings.learningRate): Promise<StepOutcome> {
    if (batch.count < 1 || batch.count > this.settings.maxBatch) {
      throw new RangeError(`a batch of ${batch.count} is outside the engine's 1..${this.settings.maxBatch}`);
    }
    // The last step has been applied (its promise resolved once every replica had): the batch
    // buffer is free and the weights are final.
    this.x.set(batch.x);
    this.y.set(batch.y);
    const shards = shardRanges(batch.count, this.replicas.length);
    const working = this.replicas.map((_, k) => k).filter((k) => shards[k]!.count > 0);
    // Every replica takes part, with an empty shard if the batch is smaller than the replicas:
    // each runs Adam on its own range.
    const outcomes = await Promise.all(
      this.replicas.map((r, k) => r.request({ type: 'step', ...shards[k]!, batchSize: batch.count, replicas: working, learningRate }, 'stepped')),
    );
    return {
      loss: outcomes.reduce((sum, o) => sum + o.loss, 0),
      correct: outcomes.reduce((sum, o) => sum + o.correct, 0),
    };
  }

  async syncModel(): Promise<void> {
    const values = this.trainable.shapes.map((shape, i) => tf.tensor(slotOf(this.weights, this.trainable, i).slice(), shape));
    try {
      this.model.trainableWeights.forEach((w, i) => w.write(values[i]!));
    } finally {
      tf.dispose(values);
    }
    if (this.statistics.shapes.length > 0) await this.syncStatistics();
  }

  /** Sets the model's moving statistics to the mean of the replicas'. */
  private async syncStatistics(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.request({ type: 'statistics' }, 'statistics')));
    const mean = new Float32Array(this.statistics.length);
    for (let k = 0; k < this.replicas.length; k++) {
      const slot = statisticsSlot(this.buffers, this.statistics, k);
      for (let i = 0; i < mean.length; i++) mean[i] += slot[i]! / this.replicas.length;
    }
    const values = this.statistics.shapes.map((shape, i) => tf.tensor(slotOf(mean, this.statistics, i).slice(), shape));
    try {
      this.model.nonTrainableWeights.forEach((w, i) => w.write(values[i]!));
    } finally {
      tf.dispose(values);
    }
  }

  /** Tensors and WASM heap of each replica, to check that training leaks nothing. */
  async replicaMemory(): Promise<ReplicaMemory[]> {
    const replies = await Promise.all(this.replicas.map((r) => r.request({ type: 'memory' }, 'memory')));
    return replies.map(({ numTensors, wasmHeapBytes }) => ({ numTensors, wasmHeapBytes }));
  }

  /** The last batch gradient, as the replicas applied it (for tests). */
  async lastGradient(): Promise<Float32Array> {
    return this.summed.slice();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.replicas.map((r) => r.terminate()));
  }
}
