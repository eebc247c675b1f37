// What the training loop needs from whatever computes its optimizer steps: one step per batch,
// and the trained weights in the loop's model when it looks at them. Two engines exist: this
// thread alone (below) and data-parallel worker threads (parallel/data-parallel-engine.ts).
import { tf } from './tf.js';
import { batchTensors, type BatchArrays } from './dataset.js';
import { batchLoss, correctCount, type ClassWeights } from './loss.js';
import { decayedWeights } from './weight-decay.js';
import { HeapAdam } from './heap-adam.js';

export interface StepOutcome {
  /** Mean class-weighted loss over the batch, before the step. */
  loss: number;
  /** Predictions on the right side of 0.5, before the step. */
  correct: number;
}

export interface TrainingEngine {
  /** Compute threads the engine trains with. */
  readonly threads: number;
  /** One Adam(W) step on the whole batch, at `learningRate` (default: the settings' rate). */
  step(batch: BatchArrays, learningRate?: number): Promise<StepOutcome>;
  /** Makes the loop's model hold the latest weights (before validating or keeping them). */
  syncModel(): Promise<void>;
  /** Frees what the engine made; the loop's model stays. */
  dispose(): Promise<void>;
}

export interface EngineSettings {
  learningRate: number;
  classWeights: ClassWeights;
  /** Decoupled weight decay per unit of learning rate (AdamW); 0 or absent = plain Adam. */
  weightDecay?: number;
  /** See `batchLoss`; 0 or absent = off. */
  labelSmoothing?: number;
}

/** Trains `model` in place, in this thread. */
export class SingleThreadEngine implements TrainingEngine {
  readonly threads = 1;
  /** On WASM, Adam(W) by this project's SIMD kernel; elsewhere tf.train.adam and a decay pass. */
  private readonly heapAdam: HeapAdam | undefined;
  private readonly optimizer: tf.AdamOptimizer | undefined;
  private readonly variables: tf.Variable[];
  private readonly decayed: tf.Variable[];

  constructor(
    private readonly model: tf.LayersModel,
    private readonly settings: EngineSettings,
  ) {
    this.variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const mask = decayedWeights(model);
    this.decayed = this.variables.filter((_, i) => mask[i]);
    this.heapAdam = HeapAdam.forCurrentBackend(this.variables, mask, settings.weightDecay ?? 0);
    this.optimizer = this.heapAdam ? undefined : tf.train.adam(settings.learningRate);
  }

  async step(batch: BatchArrays, learningRate = this.settings.learningRate): Promise<StepOutcome> {
    const { x, y } = batchTensors(batch);
    let correct: tf.Scalar | undefined;
    const { value: loss, grads } = tf.variableGrads(() => {
      const p = this.model.apply(x, { training: true }) as tf.Tensor;
      correct = tf.keep(correctCount(y, p));
      return batchLoss(y, p, this.settings.classWeights, batch.count, this.settings.labelSmoothing ?? 0);
    }, this.variables);
    try {
      if (this.heapAdam) this.heapAdam.apply(grads, learningRate);
      else this.applyWithTensorflowAdam(grads, learningRate);
      const [lossValue] = await loss.data();
      const [correctValue] = await correct!.data();
      return { loss: lossValue, correct: correctValue };
    } finally {
      tf.dispose([x, y, loss, correct!, ...Object.values(grads)]);
    }
  }

  private applyWithTensorflowAdam(grads: tf.NamedTensorMap, learningRate: number): void {
    // AdamW: w <- w (1 - lr wd) - lr adam(g), the gradient taken at the undecayed weights.
    const decay = learningRate * (this.settings.weightDecay ?? 0);
    if (decay > 0) tf.tidy(() => this.decayed.forEach((v) => v.assign(v.mul(1 - decay))));
    // tf's Adam reads its rate on every update, so a schedule only has to set it.
    (this.optimizer as unknown as { learningRate: number }).learningRate = learningRate;
    this.optimizer!.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
  }

  async syncModel(): Promise<void> {}

  async dispose(): Promise<void> {
    this.optimizer?.dispose();
    this.heapAdam?.dispose();
  }
}
