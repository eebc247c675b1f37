// What the training loop needs from whatever computes its optimizer steps: one step per batch,
// and the trained weights in the loop's model when it looks at them. Two engines exist: this
// thread alone (below) and data-parallel worker threads (parallel/data-parallel-engine.ts).
import { tf } from './tf.js';
import { batchTensors, type BatchArrays } from './dataset.js';
import { batchLoss, correctCount, type ClassWeights } from './loss.js';

export interface StepOutcome {
  /** Mean class-weighted loss over the batch, before the step. */
  loss: number;
  /** Predictions on the right side of 0.5, before the step. */
  correct: number;
}

export interface TrainingEngine {
  /** Compute threads the engine trains with. */
  readonly threads: number;
  /** One Adam step on the whole batch. */
  step(batch: BatchArrays): Promise<StepOutcome>;
  /** Makes the loop's model hold the latest weights (before validating or keeping them). */
  syncModel(): Promise<void>;
  /** Frees what the engine made; the loop's model stays. */
  dispose(): Promise<void>;
}

export interface EngineSettings {
  learningRate: number;
  classWeights: ClassWeights;
}

/** Trains `model` in place, in this thread. */
export class SingleThreadEngine implements TrainingEngine {
  readonly threads = 1;
  private readonly optimizer: tf.Optimizer;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly settings: EngineSettings,
  ) {
    this.optimizer = tf.train.adam(settings.learningRate);
  }

  async step(batch: BatchArrays): Promise<StepOutcome> {
    const { x, y } = batchTensors(batch);
    let correct: tf.Scalar | undefined;
    const loss = this.optimizer.minimize(() => {
      const p = this.model.apply(x, { training: true }) as tf.Tensor;
      correct = tf.keep(correctCount(y, p));
      return batchLoss(y, p, this.settings.classWeights, batch.count);
    }, true) as tf.Scalar;
    try {
      const [lossValue] = await loss.data();
      const [correctValue] = await correct!.data();
      return { loss: lossValue, correct: correctValue };
    } finally {
      tf.dispose([x, y, loss, correct!]);
    }
  }

  async syncModel(): Promise<void> {}

  async dispose(): Promise<void> {
    this.optimizer.dispose();
  }
}
