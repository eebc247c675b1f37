// K-fold cross-validation of a training recipe on the training images: every image is judged
// once, by a model that never saw it or any near-duplicate of it. Comparing recipes this way
// uses all the training data as validation, where a single hold-out split is too small to tell
// apart recipes a point or two of AUC apart; the test split stays untouched.
import { subset, type LabelledImages } from './dataset.js';
import { stratifiedGroupFolds, foldSplit, stratifiedSplit } from './splits.js';
import { fitDecisionRule, type DecisionRule } from './decision-rule.js';
import { chooseThreshold, evaluateScores, rocAuc } from './metrics.js';
import { predictScores } from './predict.js';
import { scoreConfigurations, type ConfigurationAuc, type ConfigurationScores } from './ensemble-configurations.js';
import { NEAR_DUPLICATE_BITS, nearDuplicateGroups, perceptualHashes, sharedGroups } from './near-duplicates.js';
import type { TrainingCallbacks } from './train.js';
import { trainEnsemble } from './train-ensemble.js';
import type { ConfusionMatrix, ResolvedTrainingParams } from './types.js';

export interface CrossValidationOptions {
  folds: number;
  /** Only these folds (0-based); default all. Lets a long comparison run in parts. */
  onlyFolds?: number[];
  /** Perceptual-hash bits within which images count as near-duplicates and share a fold. */
  nearDuplicateDistance?: number;
  /**
   * Perceptual hash of each image, in order. Default: hashed from the decoded pixels; pass hashes
   * made at the hash's own size so recipes at different input sizes get the same folds.
   */
  hashes?: readonly string[];
  /**
   * Measure how the decision rule carries over to unseen images instead of fitting it on the
   * held-out fold: each fold's model is trained without an inner validation split of its
   * training part (this fraction of it, stratified), which picks the epoch, the temperature and
   * one threshold per target sensitivity, as a training run's validation split does; the
   * held-out fold then only measures. Default: off (the rule is fitted on the held-out fold).
   */
  thresholdTransfer?: {
    innerValidationFraction: number;
    targets: number[];
    /**
     * Also train the recipe on the whole training part (no split held back, so the last epoch's
     * weights) and measure it on the held-out fold under the rule the inner split fitted: does
     * the data the split costs rank better, and does a borrowed rule still carry?
     */
    refit?: boolean;
  };
}

/** With `thresholdTransfer.refit`: the model trained on the whole training part, under the inner split's rule. */
export interface RefitResult {
  trainCount: number;
  auc: number;
  ece: number;
  trainingSeconds: number;
  /** The inner split's threshold for each target, on the held-out fold. */
  transfer: ThresholdTransfer[];
}

/** One target sensitivity's threshold, chosen on the inner validation split, on the held-out fold. */
export interface ThresholdTransfer {
  target: number;
  threshold: number;
  /** On the inner validation split the threshold was chosen on. */
  innerSensitivity: number;
  sensitivity: number;
  specificity: number;
  confusionMatrix: ConfusionMatrix;
}

export interface FoldResult {
  fold: number;
  trainCount: number;
  validationCount: number;
  validationPositives: number;
  auc: number;
  sensitivity: number;
  specificity: number;
  ece: number;
  threshold: number;
  temperature: number;
  bestEpoch: number;
  trainingSeconds: number;
  confusionMatrix: ConfusionMatrix;
  /** With `thresholdTransfer`: images of the inner validation split, and each target's result. */
  innerValidationCount?: number;
  transfer?: ThresholdTransfer[];
  refit?: RefitResult;
  /** With an ensemble recipe: the held-out AUC of its first k members together under the first v views. */
  byConfiguration?: ConfigurationAuc[];
}

export interface CrossValidationSummary {
  folds: FoldResult[];
  meanAuc: number;
  /** Sample standard deviation of the fold AUCs (NaN with one fold). */
  sdAuc: number;
  /** AUC of all out-of-fold scores together (each fold's model calibrated by its own temperature). */
  pooledAuc: number;
  pooledEce: number;
  /** From the summed confusion matrices, each fold at its own threshold. */
  pooledSensitivity: number;
  pooledSpecificity: number;
  imagesJudged: number;
  nearDuplicateGroups: { groups: number; images: number };
  /** With `thresholdTransfer`: each target's sensitivity and specificity over all held-out folds. */
  pooledTransfer?: PooledTransfer[];
  /** With `thresholdTransfer.refit`: the whole-training-part models, as the fields above. */
  pooledRefit?: { meanAuc: number; pooledAuc: number; pooledEce: number; transfer: PooledTransfer[] };
  /** With an ensemble recipe: each configuration's mean fold AUC and the AUC of its pooled out-of-fold scores. */
  pooledByConfiguration?: (ConfigurationAuc & { meanAuc: number })[];
}

export interface PooledTransfer {
  target: number;
  sensitivity: number;
  specificity: number;
  confusionMatrix: ConfusionMatrix;
}

export interface FoldCallbacks extends TrainingCallbacks {
  onFoldStart?: (fold: number, trainCount: number, validationCount: number) => void;
  onRefitStart?: (fold: number, trainCount: number) => void;
  onFoldEnd?: (result: FoldResult) => void;
}

/** Fold of every image, keeping near-duplicates together; also how many groups that found. */
export function assignFolds(images: LabelledImages, folds: number, seed: number, nearDuplicateDistance = NEAR_DUPLICATE_BITS, hashes: readonly string[] = perceptualHashes(images)) {
  if (hashes.length !== images.count) throw new RangeError(`got ${hashes.length} hashes for ${images.count} images`);
  const groups = nearDuplicateGroups(hashes, nearDuplicateDistance);
  return { fold: stratifiedGroupFolds(images.labels, folds, seed, groups), nearDuplicateGroups: sharedGroups(groups) };
}

export async function crossValidate(
  images: LabelledImages,
  params: ResolvedTrainingParams,
  options: CrossValidationOptions,
  callbacks: FoldCallbacks = {},
  signal?: AbortSignal,
): Promise<CrossValidationSummary> {
  const { fold, nearDuplicateGroups: duplicates } = assignFolds(images, options.folds, params.seed, options.nearDuplicateDistance, options.hashes);
  const chosen = options.onlyFolds ?? [...Array(options.folds).keys()];
  const results: FoldResult[] = [];
  const pooledLabels: number[] = [];
  const pooledScores: number[] = [];
  const refitScores: number[] = [];
  const configurationScores: ConfigurationScores = new Map();
  for (const k of chosen) {
    if (!Number.isInteger(k) || k < 0 || k >= options.folds) throw new RangeError(`fold ${k} is outside 0..${options.folds - 1}`);
    const split = foldSplit(fold, k);
    const heldOut = subset(images, split.validation);
    const transfer = options.thresholdTransfer;
    const trainPart = subset(images, split.train);
    const inner = transfer ? stratifiedSplit(trainPart.labels, transfer.innerValidationFraction, params.seed) : undefined;
    const train = inner ? subset(trainPart, inner.train) : trainPart;
    // The images the rule is fitted on: the held-out fold itself, or the inner split.
    const ruleImages = inner ? subset(trainPart, inner.validation) : heldOut;
    callbacks.onFoldStart?.(k, train.count, heldOut.count);
    const result = await trainEnsemble({ train, validation: ruleImages }, params, callbacks, signal, { keepMembers: true });
    try {
      const rule = fitDecisionRule(result.model, ruleImages, params, { fitCalibration: true });
      const scores = inner ? predictScores(result.model, heldOut, params.batchSize, rule) : rule.scores;
      const metrics = evaluateScores(heldOut.labels, scores, rule.threshold);
      const foldResult: FoldResult = {
        fold: k,
        trainCount: train.count,
        validationCount: heldOut.count,
        validationPositives: metrics.positives,
        auc: metrics.auc,
        sensitivity: metrics.sensitivity,
        specificity: metrics.specificity,
        ece: metrics.ece,
        threshold: rule.threshold,
        temperature: rule.temperature,
        bestEpoch: result.bestEpoch,
        trainingSeconds: result.seconds,
        confusionMatrix: metrics.confusionMatrix,
        ...(transfer && { innerValidationCount: ruleImages.count, transfer: transferOf(transfer.targets, ruleImages, rule.scores, heldOut, scores) }),
        ...(result.memberModels && { byConfiguration: scoreConfigurations(result.memberModels, result.model, ruleImages, heldOut, params, inner !== undefined, configurationScores) }),
      };
      if (transfer?.refit) {
        callbacks.onRefitStart?.(k, trainPart.count);
        const refit = await refitOnTrainingPart(trainPart, heldOut, params, rule, foldResult.transfer!, callbacks, signal);
        foldResult.refit = refit.result;
        refitScores.push(...refit.scores);
      }
      results.push(foldResult);
      pooledLabels.push(...heldOut.labels);
      pooledScores.push(...scores);
      callbacks.onFoldEnd?.(foldResult);
    } finally {
      result.model.dispose();
      result.memberModels?.forEach((member) => member.dispose());
    }
  }
  return summarize(results, pooledLabels, pooledScores, duplicates, configurationScores, refitScores);
}

/** Trains on the whole training part and scores the held-out fold with the inner split's rule and thresholds. */
async function refitOnTrainingPart(
  trainPart: LabelledImages,
  heldOut: LabelledImages,
  params: ResolvedTrainingParams,
  rule: Pick<DecisionRule, 'views' | 'temperature'>,
  innerTransfer: ThresholdTransfer[],
  callbacks: FoldCallbacks,
  signal: AbortSignal | undefined,
): Promise<{ result: RefitResult; scores: Float32Array }> {
  const result = await trainEnsemble({ train: trainPart, validation: subset(trainPart, []) }, params, callbacks, signal);
  try {
    const scores = predictScores(result.model, heldOut, params.batchSize, rule);
    // AUC and ECE do not depend on the threshold.
    const metrics = evaluateScores(heldOut.labels, scores, 0.5);
    const transfer = innerTransfer.map((chosen) => measureTransfer(chosen, heldOut, scores));
    return { result: { trainCount: trainPart.count, auc: metrics.auc, ece: metrics.ece, trainingSeconds: result.seconds, transfer }, scores };
  } finally {
    result.model.dispose();
  }
}

/** Each target's threshold chosen on the rule's images, measured on the held-out fold. */
function transferOf(targets: number[], ruleImages: LabelledImages, ruleScores: Float32Array, heldOut: LabelledImages, heldOutScores: Float32Array): ThresholdTransfer[] {
  return targets.map((target) => {
    const threshold = chooseThreshold(ruleImages.labels, ruleScores, { targetSensitivity: target });
    const innerSensitivity = evaluateScores(ruleImages.labels, ruleScores, threshold).sensitivity;
    return measureTransfer({ target, threshold, innerSensitivity }, heldOut, heldOutScores);
  });
}

/** A threshold chosen elsewhere, on the held-out fold. */
function measureTransfer(chosen: Pick<ThresholdTransfer, 'target' | 'threshold' | 'innerSensitivity'>, heldOut: LabelledImages, heldOutScores: Float32Array): ThresholdTransfer {
  const { sensitivity, specificity, confusionMatrix } = evaluateScores(heldOut.labels, heldOutScores, chosen.threshold);
  return { ...chosen, sensitivity, specificity, confusionMatrix };
}

const addMatrices = (a: ConfusionMatrix, b: ConfusionMatrix): ConfusionMatrix => ({ tp: a.tp + b.tp, fp: a.fp + b.fp, tn: a.tn + b.tn, fn: a.fn + b.fn });

function summarize(
  folds: FoldResult[],
  labels: number[],
  scores: number[],
  duplicates: CrossValidationSummary['nearDuplicateGroups'],
  configurationScores: ConfigurationScores,
  refitScores: number[],
): CrossValidationSummary {
  const aucs = folds.map((f) => f.auc);
  const meanAuc = aucs.reduce((a, b) => a + b, 0) / aucs.length;
  const sdAuc = aucs.length > 1 ? Math.sqrt(aucs.reduce((s, a) => s + (a - meanAuc) ** 2, 0) / (aucs.length - 1)) : Number.NaN;
  const none: ConfusionMatrix = { tp: 0, fp: 0, tn: 0, fn: 0 };
  const total = folds.reduce((c, f) => addMatrices(c, f.confusionMatrix), none);
  const targets = folds[0]?.transfer?.map((t) => t.target) ?? [];
  const poolTransfers = (transfers: (f: FoldResult) => ThresholdTransfer[]): PooledTransfer[] =>
    targets.map((target, j) => {
      const matrix = folds.reduce((c, f) => addMatrices(c, transfers(f)[j]!.confusionMatrix), none);
      return { target, sensitivity: matrix.tp / (matrix.tp + matrix.fn), specificity: matrix.tn / (matrix.tn + matrix.fp), confusionMatrix: matrix };
    });
  const pooledTransfer = poolTransfers((f) => f.transfer!);
  const refits = folds.every((f) => f.refit) && folds.length > 0;
  return {
    folds,
    meanAuc,
    sdAuc,
    pooledAuc: rocAuc(labels, scores),
    // ECE does not depend on the threshold.
    pooledEce: evaluateScores(labels, scores, 0.5).ece,
    pooledSensitivity: total.tp / (total.tp + total.fn),
    pooledSpecificity: total.tn / (total.tn + total.fp),
    imagesJudged: labels.length,
    nearDuplicateGroups: duplicates,
    ...(targets.length > 0 && { pooledTransfer }),
    ...(refits && {
      pooledRefit: {
        meanAuc: folds.reduce((sum, f) => sum + f.refit!.auc, 0) / folds.length,
        pooledAuc: rocAuc(labels, refitScores),
        pooledEce: evaluateScores(labels, refitScores, 0.5).ece,
        transfer: poolTransfers((f) => f.refit!.transfer),
      },
    }),
    ...(configurationScores.size > 0 && {
      pooledByConfiguration: folds[0]!.byConfiguration!.map(({ members, views }, j) => ({
        members,
        views,
        meanAuc: folds.reduce((sum, f) => sum + f.byConfiguration![j]!.auc, 0) / folds.length,
        auc: rocAuc(labels, configurationScores.get(`${members}x${views}`)!),
      })),
    }),
  };
}
