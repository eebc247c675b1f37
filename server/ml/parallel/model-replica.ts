// One replica of the model in a worker. Each step it takes the current weights from shared
// memory and writes the gradient of its shard of the batch into its slot; once every replica
// has (they meet at a barrier), it adds up the slots and runs Adam on its own range of the
// shared weights.
// Batch normalisation normalises each shard with the shard's own statistics (as PyTorch's
// DistributedDataParallel does without SyncBatchNorm); each replica keeps its own moving
// statistics, which the coordinator averages when it needs the model.
import { tf } from '../tf.js';
import { buildModel } from '../models/index.js';
import { batchLoss, correctCount } from '../loss.js';
import type { StepOutcome } from '../training-engine.js';
import { FlatAdam } from './flat-adam.js';
import { currentWasmBackend } from '../kernels/wasm-kernel-utils.js';
import type { CoordinatorMessage, ReplicaMemory, ReplicaSetup } from './protocol.js';
import { StepBarrier } from './step-barrier.js';
import { decayedWeights } from '../weight-decay.js';
import { optimizerViews, slotOf, statisticsSlot } from './shared-buffers.js';

export class ModelReplica {
  private readonly model: tf.LayersModel;
  private readonly variables: tf.Variable[];
  private readonly optimizer: FlatAdam;
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly gradients: Float32Array;
  private readonly slots: Float32Array[];
  private readonly summed: Float32Array;
  private readonly weights: Float32Array;
  private readonly barrier: StepBarrier;

  constructor(private readonly setup: ReplicaSetup) {
    const { architecture, imageSize, seed, learningRate, weightDecay, buffers, trainable, statistics, optimizerRange } = setup;
    const views = optimizerViews(buffers, trainable);
    this.weights = views.weights;
    this.model = buildModel(architecture, { imageSize, seed });
    this.variables = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    if (JSON.stringify(this.variables.map((v) => v.shape)) !== JSON.stringify(trainable.shapes)) {
      throw new Error('replica: trainable weights differ from the coordinator model');
    }
    if (JSON.stringify(this.model.nonTrainableWeights.map((w) => w.shape)) !== JSON.stringify(statistics.shapes)) {
      throw new Error('replica: non-trainable weights differ from the coordinator model');
    }
    const decayMask = new Uint8Array(trainable.length);
    decayedWeights(this.model).forEach((decayed, i) => {
      if (decayed) decayMask.fill(1, trainable.offsets[i], trainable.offsets[i]! + slotOf(this.weights, trainable, i).length);
    });
    const { from, to } = optimizerRange;
    // Moments and all the arrays a step reads in the shared WebAssembly memory: the SIMD Adam
    // kernel runs there (1.0-1.5 ms instead of 6.6-9.6 for a JS loop over half of 2.45 M weights).
    this.optimizer = new FlatAdam(
      from,
      to,
      { learningRate, epsilon: tf.backend().epsilon(), weightDecay, decayMask },
      { first: views.firstMoment.subarray(from, to), second: views.secondMoment.subarray(from, to) },
      buffers.optimizer,
    );
    this.x = new Float32Array(buffers.x);
    this.y = new Float32Array(buffers.y);
    this.slots = views.gradients;
    this.gradients = this.slots[setup.replica]!;
    this.summed = views.summed;
    this.barrier = new StepBarrier(buffers.barrier, buffers.replicas);
  }

  /**
   * One training step's share: this replica's gradient, the barrier, then Adam on its range.
   * A replica that fails still arrives at the barrier, so that none waits for it; then no
   * replica touches the weights and each reports the failure.
   */
  step({ start, count, batchSize, replicas, learningRate }: Extract<CoordinatorMessage, { type: 'step' }>): StepOutcome {
    let outcome: StepOutcome = { loss: 0, correct: 0 };
    let failure: unknown;
    try {
      if (count > 0) outcome = this.computeGradients(start, count, batchSize);
    } catch (error) {
      failure = error;
    }
    if (this.barrier.arrive(failure !== undefined)) throw failure ?? new Error('another replica failed in this step');
    this.applyGradients(replicas, learningRate);
    return outcome;
  }

  /** Writes the gradient of rows [start, start + count), at the current shared weights, into this replica's slot. */
  private computeGradients(start: number, count: number, batchSize: number): StepOutcome {
    const { imageSize, classWeights, labelSmoothing, trainable } = this.setup;
    this.loadWeights();
    const stride = imageSize * imageSize * 3;
    // Views, not copies: WASM copies a new tensor's values onto its heap at once.
    const x = tf.tensor4d(this.x.subarray(start * stride, (start + count) * stride), [count, imageSize, imageSize, 3]);
    const y = tf.tensor2d(this.y.subarray(start, start + count), [count, 1]);
    let correct: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const p = this.model.apply(x, { training: true }) as tf.Tensor;
      correct = tf.keep(correctCount(y, p));
      return batchLoss(y, p, classWeights, batchSize, labelSmoothing);
    }, this.variables);
    try {
      // Straight from the WASM heap, without dataSync's intermediate copy.
      // Replicas always run on WASM; tests may not.
      const backend = currentWasmBackend();
      this.variables.forEach((v, i) => {
        const gradient = grads[v.name]!;
        slotOf(this.gradients, trainable, i).set(backend ? backend.typedArrayFromHeap(gradient) : gradient.dataSync());
      });
      return { loss: value.dataSync()[0]!, correct: correct!.dataSync()[0]! };
    } finally {
      tf.dispose([x, y, value, correct!, ...Object.values(grads)]);
    }
  }

  /** Adds up the gradients of `replicas` and runs one Adam step, on this replica's range of the shared weights. */
  private applyGradients(replicas: number[], learningRate: number): void {
    this.optimizer.step(this.weights, replicas.map((k) => this.slots[k]!), this.summed, learningRate);
  }

  /** Copies this replica's moving statistics into its shared slot. */
  writeStatistics(): void {
    const { buffers, statistics, replica } = this.setup;
    const slot = statisticsSlot(buffers, statistics, replica);
    this.model.nonTrainableWeights.forEach((w, i) => slotOf(slot, statistics, i).set(w.read().dataSync()));
  }

  memory(): ReplicaMemory {
    const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
    return { numTensors: tf.memory().numTensors, wasmHeapBytes: backend.wasm?.HEAPU8.length ?? 0 };
  }

  dispose(): void {
    this.model.dispose();
  }

  private loadWeights(): void {
    const { trainable } = this.setup;
    // Fresh tensors, never the variables' memory overwritten in place: WASM caches XNNPACK
    // operators with their weights packed, keyed by the weight tensor. (WASM copies on write, so
    // no copy of the shared array is needed first.)
    this.variables.forEach((v, i) => {
      const value = tf.tensor(slotOf(this.weights, trainable, i), v.shape);
      v.assign(value);
      value.dispose();
    });
  }

}
