// The training loop: seeded, class-weighted binary cross-entropy with Adam(W) on a learning-rate
// schedule, optionally on mixup blends of the batches; progress events per batch and epoch,
// cancellation between batches, early stopping on validation AUC, and optionally the mean of the
// last epochs' weights (stochastic weight averaging) when validation says it beats the best
// single epoch.
// A hand-written loop rather than model.fit: fit has no per-sample weights, no AUC and no
// clean way to stop from another thread. The optimizer steps run on a training engine: this
// thread alone, or data-parallel replica workers when more than one thread is allowed.
import { tf } from './tf.js';
import { defaultTrainingParams, type TrainingParams } from './types.js';
import type { LabelledImages } from './dataset.js';
import { batchArrays } from './dataset.js';
import { createRng } from './random.js';
import { buildModel } from './models/index.js';
import { predictScores } from './predict.js';
import { rocAuc } from './metrics.js';
import { balancedClassWeights, PROBABILITY_EPSILON, type ClassWeights } from './loss.js';
import { trainingThreads } from './backend.js';
import { SingleThreadEngine, type TrainingEngine } from './training-engine.js';
import { DataParallelEngine, supportsDataParallel } from './parallel/data-parallel-engine.js';
import { learningRateAt } from './learning-rate.js';
import { defaultAugmentOptions, strongAugmentOptions } from './augment.js';
import { WeightAverage } from './weight-average.js';
import { mixBatch } from './mixup.js';

export { balancedClassWeights };

export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batchesPerEpoch: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  /** Seconds left for the whole run at the current pace. */
  etaSeconds: number;
}

export interface EpochProgress {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
  validationLoss: number;
  validationAccuracy: number;
  validationAuc: number;
  learningRate: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainingCallbacks {
  onBatchEnd?: (progress: BatchProgress) => void;
  onEpochEnd?: (progress: EpochProgress) => void;
}

export interface TrainingResult {
  model: tf.LayersModel;
  history: EpochProgress[];
  /** Epoch (1-based) with the best validation AUC: the model holds its weights unless `averaged` is set. */
  bestEpoch: number;
  /** Set when the model holds the mean of these epochs' weights, which validated at least as well as the best epoch. */
  averaged?: { fromEpoch: number; toEpoch: number; validationAuc: number };
  stoppedEarly: boolean;
  cancelled: boolean;
  seconds: number;
  /** Compute threads the optimizer steps ran on (replica workers when more than 1). */
  threads: number;
}

export class TrainingCancelledError extends Error {
  readonly code = 'TRAINING_CANCELLED';
  constructor() {
    super('training was cancelled');
  }
}

export interface TrainingOptions {
  /**
   * Compute threads: more than 1 trains on that many data-parallel replica workers. Default:
   * the backend's training threads (TF_THREADS, else every core, on WASM).
   */
  threads?: number;
}

function yieldToEventLoop(): Promise<void> {
  // Lets a worker receive its cancel message between batches.
  return new Promise((resolve) => setImmediate(resolve));
}

function validationMetrics(model: tf.LayersModel, validation: LabelledImages, batchSize: number) {
  const scores = predictScores(model, validation, batchSize);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(Math.max(scores[i], PROBABILITY_EPSILON), 1 - PROBABILITY_EPSILON);
    const y = validation.labels[i];
    loss -= y ? Math.log(p) : Math.log(1 - p);
    if ((p >= 0.5 ? 1 : 0) === y) correct++;
  }
  const n = Math.max(1, scores.length);
  const hasBothClasses = validation.labels.some((l) => l === 1) && validation.labels.some((l) => l === 0);
  return {
    loss: loss / n,
    accuracy: correct / n,
    auc: hasBothClasses ? rocAuc(validation.labels, scores) : Number.NaN,
  };
}

/** The engine `options` ask for, falling back to this thread when replicas cannot keep the semantics. */
async function startEngine(model: tf.LayersModel, params: Required<TrainingParams>, classWeights: ClassWeights, options: TrainingOptions): Promise<TrainingEngine> {
  const threads = Math.max(1, Math.floor(options.threads ?? trainingThreads()));
  const settings = { learningRate: params.learningRate, classWeights, weightDecay: params.weightDecay, labelSmoothing: params.labelSmoothing };
  if (threads < 2 || params.batchSize < 2 || !supportsDataParallel(model)) return new SingleThreadEngine(model, settings);
  return DataParallelEngine.start(model, {
    ...settings,
    architecture: params.architecture,
    imageSize: params.imageSize,
    seed: params.seed,
    maxBatch: params.batchSize,
    threads: Math.min(threads, params.batchSize),
  });
}

export async function trainModel(
  data: { train: LabelledImages; validation: LabelledImages },
  requested: TrainingParams,
  callbacks: TrainingCallbacks = {},
  signal?: AbortSignal,
  options: TrainingOptions = {},
): Promise<TrainingResult> {
  const params: Required<TrainingParams> = { ...defaultTrainingParams, ...requested };
  const { train, validation } = data;
  if (train.count === 0) throw new RangeError('the training set is empty');
  const started = performance.now();
  const rng = createRng(params.seed);
  const model = buildModel(params.architecture, { imageSize: params.imageSize, seed: params.seed });
  const weights = params.classWeighting ? balancedClassWeights(train.labels) : { negative: 1, positive: 1 };
  const batchesPerEpoch = Math.ceil(train.count / params.batchSize);
  const totalBatches = batchesPerEpoch * params.epochs;
  const schedule = {
    learningRate: params.learningRate,
    schedule: params.learningRateSchedule,
    warmupSteps: Math.round(params.warmupEpochs * batchesPerEpoch),
    totalSteps: totalBatches,
  };
  const augmentOptions = params.augmentation === 'strong' ? strongAugmentOptions : defaultAugmentOptions;
  const history: EpochProgress[] = [];
  let engine: TrainingEngine | undefined;
  let best: { auc: number; loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  const average = new WeightAverage();
  let averaged: TrainingResult['averaged'];
  let stoppedEarly = false;
  let cancelled = false;
  let imagesSeen = 0;
  let trainingMs = 0;

  const keepBest = (auc: number, loss: number, epoch: number) => {
    best?.weights.forEach((w) => w.dispose());
    best = { auc, loss, epoch, weights: model.getWeights().map((w) => w.clone()) };
  };

  try {
    engine = await startEngine(model, params, weights, options);
    epochs: for (let epoch = 1; epoch <= params.epochs; epoch++) {
      const epochStart = performance.now();
      const order = rng.shuffle(Array.from({ length: train.count }, (_, i) => i));
      const buildBatch = (b: number) =>
        mixBatch(batchArrays(train, order.slice(b * params.batchSize, (b + 1) * params.batchSize), { augment: params.augment, rng, augmentOptions }), params.mixup, rng);
      let lossSum = 0;
      let correctSum = 0;
      let learningRate = params.learningRate;
      let nextBatch = buildBatch(0);
      for (let b = 0; b < batchesPerEpoch; b++) {
        if (signal?.aborted) {
          cancelled = true;
          break epochs;
        }
        const batchStart = performance.now();
        learningRate = learningRateAt((epoch - 1) * batchesPerEpoch + b, schedule);
        const batch = nextBatch;
        const stepping = engine.step(batch, learningRate);
        stepping.catch(() => undefined); // awaited below; a failure meanwhile is not "unhandled"
        if (b + 1 < batchesPerEpoch) {
          // Built while replica workers compute this step (once it has been handed to them),
          // from the same random draws in the same order, so runs stay reproducible.
          await yieldToEventLoop();
          nextBatch = buildBatch(b + 1);
        }
        const { loss: lossValue, correct: correctValue } = await stepping;

        trainingMs += performance.now() - batchStart;
        imagesSeen += batch.count;
        lossSum += lossValue * batch.count;
        correctSum += correctValue;
        const imagesPerSecond = imagesSeen / (trainingMs / 1000);
        const batchesDone = (epoch - 1) * batchesPerEpoch + b + 1;
        callbacks.onBatchEnd?.({
          epoch,
          epochs: params.epochs,
          batch: b + 1,
          batchesPerEpoch,
          loss: lossValue,
          accuracy: correctValue / batch.count,
          imagesPerSecond,
          etaSeconds: ((totalBatches - batchesDone) * params.batchSize) / imagesPerSecond,
        });
        await yieldToEventLoop();
      }

      await engine.syncModel();
      const val = validation.count > 0 ? validationMetrics(model, validation, params.batchSize) : undefined;
      const epochSeconds = (performance.now() - epochStart) / 1000;
      const progress: EpochProgress = {
        epoch,
        epochs: params.epochs,
        loss: lossSum / train.count,
        accuracy: correctSum / train.count,
        validationLoss: val?.loss ?? Number.NaN,
        validationAccuracy: val?.accuracy ?? Number.NaN,
        validationAuc: val?.auc ?? Number.NaN,
        learningRate,
        seconds: epochSeconds,
        imagesPerSecond: train.count / epochSeconds,
      };
      history.push(progress);
      callbacks.onEpochEnd?.(progress);

      if (epoch > params.epochs - params.averageEpochs) average.add(model.getWeights(), epoch);
      // Best = highest validation AUC; ties (AUC saturates on easy data) go to the lower
      // validation loss. Without validation data the latest weights are the best we know of.
      const auc = Number.isNaN(progress.validationAuc) ? epoch : progress.validationAuc;
      const loss = Number.isNaN(progress.validationLoss) ? -epoch : progress.validationLoss;
      if (!best || auc > best.auc || (auc === best.auc && loss < best.loss)) keepBest(auc, loss, epoch);
      else if (params.earlyStoppingPatience > 0 && epoch - best.epoch >= params.earlyStoppingPatience) {
        stoppedEarly = epoch < params.epochs;
        break;
      }
    }
    if (cancelled) throw new TrainingCancelledError();
    if (best && best.epoch !== history.length) model.setWeights(best.weights);
    if (average.epochs >= 2 && best && validation.count > 0) {
      // The mean stands only on validation evidence; ties go to it (the smoother solution).
      const mean = average.mean();
      model.setWeights(mean); // the model's variables take their own reference
      mean.forEach((m) => m.dispose());
      const auc = validationMetrics(model, validation, params.batchSize).auc;
      if (auc >= best.auc) averaged = { fromEpoch: average.fromEpoch, toEpoch: average.toEpoch, validationAuc: auc };
      else model.setWeights(best.weights);
    }
    return {
      model,
      history,
      bestEpoch: best?.epoch ?? 0,
      ...(averaged ? { averaged } : {}),
      stoppedEarly,
      cancelled,
      seconds: (performance.now() - started) / 1000,
      threads: engine.threads,
    };
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    best?.weights.forEach((w) => w.dispose());
    average.dispose();
    await engine?.dispose();
  }
}
