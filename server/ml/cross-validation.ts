// K-fold cross-validation of a training recipe on the training images: every image is judged
// once, by a model that never saw it or any near-duplicate of it. Comparing recipes this way
// uses all the training data as validation, where a single hold-out split is too small to tell
// apart recipes a point or two of AUC apart; the test split stays untouched.
import { subset, type LabelledImages } from './dataset.js';
import { stratifiedGroupFolds, foldSplit } from './splits.js';
import { fitDecisionRule } from './decision-rule.js';
import { evaluateScores, rocAuc } from './metrics.js';
import { NEAR_DUPLICATE_BITS, nearDuplicateGroups, perceptualHashes, sharedGroups } from './near-duplicates.js';
import { trainModel, type TrainingCallbacks } from './train.js';
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
}

export interface FoldCallbacks extends TrainingCallbacks {
  onFoldStart?: (fold: number, trainCount: number, validationCount: number) => void;
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
  for (const k of chosen) {
    if (!Number.isInteger(k) || k < 0 || k >= options.folds) throw new RangeError(`fold ${k} is outside 0..${options.folds - 1}`);
    const split = foldSplit(fold, k);
    const train = subset(images, split.train);
    const validation = subset(images, split.validation);
    callbacks.onFoldStart?.(k, train.count, validation.count);
    const result = await trainModel({ train, validation }, params, callbacks, signal);
    try {
      const rule = fitDecisionRule(result.model, validation, params, { fitCalibration: true });
      const metrics = evaluateScores(validation.labels, rule.scores, rule.threshold);
      const foldResult: FoldResult = {
        fold: k,
        trainCount: train.count,
        validationCount: validation.count,
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
      };
      results.push(foldResult);
      pooledLabels.push(...validation.labels);
      pooledScores.push(...rule.scores);
      callbacks.onFoldEnd?.(foldResult);
    } finally {
      result.model.dispose();
    }
  }
  return summarize(results, pooledLabels, pooledScores, duplicates);
}

function summarize(folds: FoldResult[], labels: number[], scores: number[], duplicates: CrossValidationSummary['nearDuplicateGroups']): CrossValidationSummary {
  const aucs = folds.map((f) => f.auc);
  const meanAuc = aucs.reduce((a, b) => a + b, 0) / aucs.length;
  const sdAuc = aucs.length > 1 ? Math.sqrt(aucs.reduce((s, a) => s + (a - meanAuc) ** 2, 0) / (aucs.length - 1)) : Number.NaN;
  const total = folds.reduce((c, f) => ({ tp: c.tp + f.confusionMatrix.tp, fp: c.fp + f.confusionMatrix.fp, tn: c.tn + f.confusionMatrix.tn, fn: c.fn + f.confusionMatrix.fn }), { tp: 0, fp: 0, tn: 0, fn: 0 });
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
  };
}
