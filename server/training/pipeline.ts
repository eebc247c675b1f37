// One training run end to end: decode the data once, train, choose the decision threshold on
// validation data, measure on the test split, save an immutable version, maybe activate it.
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../ml/tf.js';
import { backendInfo } from '../ml/backend.js';
import { loadImageFolder, datasetFingerprint, type LabelledImages } from '../ml/dataset.js';
import { TrainingCancelledError } from '../ml/train.js';
import { describeWeights, trainEnsemble } from '../ml/train-ensemble.js';
import { validationSplit } from '../ml/validation-split.js';
import { describeGroups } from '../ml/near-duplicates.js';
import { predictViewScores } from '../ml/predict.js';
import { combineViews } from '../ml/calibration.js';
import { fitDecisionRule } from '../ml/decision-rule.js';
import { defaultTrainingParams } from '../ml/types.js';
import { evaluateScores } from '../ml/metrics.js';
import { tryFitInputGuard } from '../ml/guard/fit-guard.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { EvaluationMetrics, ModelMetadata } from '../ml/types.js';
import type { TrainingEvent, TrainingRequest } from './training-events.js';

export class NoTrainingDataError extends Error {
  readonly code = 'NO_TRAINING_DATA';
}

function hasBothClasses(labels: Uint8Array): boolean {
  return labels.includes(0) && labels.includes(1);
}

async function loadSplit(
  dir: string,
  request: TrainingRequest,
  emit: (e: TrainingEvent) => void,
  signal?: AbortSignal,
): Promise<LabelledImages> {
  const images = await loadImageFolder(dir, {
    imageSize: request.params.imageSize,
    positiveClass: request.positiveClass,
    limits: request.imageLimits,
    signal,
    onProgress: (done, total) => emit({ type: 'data-progress', done, total }),
  });
  if (signal?.aborted) throw new TrainingCancelledError();
  return images;
}

/** Runs the whole pipeline; a cancelled run emits `cancelled` and throws TrainingCancelledError. */
export async function runTraining(
  request: TrainingRequest,
  emit: (event: TrainingEvent) => void,
  signal?: AbortSignal,
): Promise<{ model: ModelMetadata; activated: boolean }> {
  try {
    return await trainAndSave(request, emit, signal);
  } catch (error) {
    if (error instanceof TrainingCancelledError) emit({ type: 'cancelled' });
    throw error;
  }
}

async function trainAndSave(
  request: TrainingRequest,
  emit: (event: TrainingEvent) => void,
  signal?: AbortSignal,
): Promise<{ model: ModelMetadata; activated: boolean }> {
  const params = { ...defaultTrainingParams, ...request.params };
  const trainDir = path.join(request.dataDir, 'train');
  const testDir = path.join(request.dataDir, 'test');
  if (!fs.existsSync(trainDir)) throw new NoTrainingDataError(`no training images: ${trainDir} does not exist`);

  emit({ type: 'stage', stage: 'loading-data', message: `decoding ${trainDir} at ${params.imageSize}px` });
  const all = await loadSplit(trainDir, request, emit, signal);
  if (all.count === 0) throw new NoTrainingDataError(`no readable images under ${trainDir}`);
  if (request.decisionRule && request.decisionRule.positiveClass !== all.classNames[1]) {
    throw new Error(`${request.decisionRule.from}'s decision rule scores "${request.decisionRule.positiveClass}", this data's positive class is "${all.classNames[1]}"`);
  }
  const test = fs.existsSync(testDir) ? await loadSplit(testDir, request, emit, signal) : undefined;
  const { train, validation, groups } = validationSplit(all, params);

  emit({
    type: 'stage',
    stage: 'training',
    message: `${train.count} training, ${validation.count} validation, ${test?.count ?? 0} test images${groups ? ` (${describeGroups(groups)} kept on one side of the split)` : ''}; ${params.ensembleMembers > 1 ? `${params.ensembleMembers} x ` : ''}${params.architecture} at ${params.imageSize}px`,
  });
  const result = await trainEnsemble(
    { train, validation },
    params,
    {
      onBatchEnd: (p) => emit({ type: 'batch', ...p }),
      onEpochEnd: (p) => emit({ type: 'epoch', ...p }),
    },
    signal,
  );
  const { model } = result;
  const weightsFrom = describeWeights(result);
  try {
    emit({ type: 'stage', stage: 'evaluating', message: `weights: ${weightsFrom}` });
    emit({ type: 'stage', stage: 'evaluating', message: request.decisionRule ? `measuring with ${request.decisionRule.from}'s threshold and temperature` : 'choosing the threshold and measuring' });
    // Temperature and threshold come from validation data only; the test split never
    // influences the model. Without usable validation data the training images stand in for
    // the threshold (and no temperature is fitted), unless the run borrows another version's rule.
    const hasValidation = validation.count > 0 && hasBothClasses(validation.labels);
    const borrowed = request.decisionRule;
    const fitted = borrowed ? undefined : fitDecisionRule(model, hasValidation ? validation : train, params, { fitCalibration: hasValidation });
    const { temperature, threshold, views } = borrowed ?? fitted!;
    const scoresOf = (images: LabelledImages) => combineViews(predictViewScores(model, images, params.batchSize, views), temperature);
    const metrics: { validation?: EvaluationMetrics; test?: EvaluationMetrics } = {};
    if (hasValidation) metrics.validation = evaluateScores(validation.labels, fitted?.scores ?? scoresOf(validation), threshold);
    if (test && test.count > 0 && hasBothClasses(test.labels)) metrics.test = evaluateScores(test.labels, scoresOf(test), threshold);

    // The limits for refusing unsuitable images travel with the version that fitted them.
    const guard = tryFitInputGuard(model, train, validation);
    emit({ type: 'stage', stage: 'evaluating', message: guard.message });

    emit({ type: 'stage', stage: 'saving', message: 'saving the model version' });
    const registry = new ModelRegistry(request.modelsDir);
    const saved = await registry.save(model, {
      format: 'skin-cancer-detection/model@1',
      architecture: params.architecture,
      imageSize: params.imageSize,
      classNames: all.classNames,
      positiveClass: all.classNames[1],
      threshold,
      temperature,
      testTimeViews: [...views],
      metrics,
      trainingParams: borrowed ? { ...params, targetSensitivity: borrowed.targetSensitivity } : params,
      datasetFingerprint: datasetFingerprint(test ? { train: all, test } : { train: all }),
      backend: backendInfo().name,
      trainingSeconds: result.seconds,
      epochsCompleted: result.history.length,
      weightsFrom: borrowed ? `${weightsFrom}; temperature, views and threshold of ${borrowed.from} (${borrowed.description})` : weightsFrom,
      ...(guard.data ? { inputGuard: guard.data } : {}),
    });
    const activated = await activateIfBetter(registry, saved, request.autoPromote);
    emit({ type: 'succeeded', model: saved, activated });
    return { model: saved, activated };
  } finally {
    model.dispose();
  }
}

/** The first model always becomes active; later ones only when asked and better on held-out AUC. */
async function activateIfBetter(registry: ModelRegistry, candidate: ModelMetadata, autoPromote: boolean): Promise<boolean> {
  const activeVersion = await registry.activeVersion();
  if (activeVersion === null) {
    await registry.promote(candidate.version);
    return true;
  }
  if (!autoPromote) return false;
  const { versions } = await registry.list();
  const active = versions.find((v) => v.version === activeVersion);
  const score = (m?: ModelMetadata) => m?.metrics.test?.auc ?? m?.metrics.validation?.auc ?? Number.NEGATIVE_INFINITY;
  if (score(candidate) <= score(active)) return false;
  await registry.promote(candidate.version);
  return true;
}
