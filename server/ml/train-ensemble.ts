// Trains a recipe's ensemble: `ensembleMembers` runs of the same recipe that differ only in their
// seed (initial weights, batch order, augmentation draws), on the same training and validation
// images, each keeping its own best epoch; then one model of them all (ensemble.ts). With one
// member this is exactly `trainModel`. Progress is numbered across members as one long run, so
// the epoch curves, the stream and the ETA need no notion of members.
import type { tf } from './tf.js';
import { defaultTrainingParams, type TrainingParams } from './types.js';
import type { LabelledImages } from './dataset.js';
import { trainModel, type TrainingCallbacks, type TrainingOptions, type TrainingResult } from './train.js';
import { combineMembers } from './ensemble.js';

/** What each member's run kept. */
export interface MemberResult {
  seed: number;
  bestEpoch: number;
  /** Epochs run (fewer than asked when it stopped early). */
  epochs: number;
  /** Validation AUC of the weights kept (NaN without validation data). */
  validationAuc: number;
  /** Validation AUC of the best single epoch (the kept weights' unless averaged). */
  bestEpochValidationAuc: number;
  averaged?: TrainingResult['averaged'];
  seconds: number;
}

export interface EnsembleTrainingResult extends TrainingResult {
  /** One entry per member, in order (one entry for an ordinary run). */
  members: MemberResult[];
  /** With `keepMembers`: each member's own model, the caller's to dispose. */
  memberModels?: tf.LayersModel[];
}

/** Member m's seed: the recipe's seed for the first, so a one-member ensemble is the plain run. */
export const memberSeed = (seed: number, m: number) => seed + m;

function memberResult(result: TrainingResult, seed: number): MemberResult {
  const best = result.history[result.bestEpoch - 1]?.validationAuc ?? Number.NaN;
  return { seed, bestEpoch: result.bestEpoch, epochs: result.history.length, validationAuc: result.averaged?.validationAuc ?? best, bestEpochValidationAuc: best, ...(result.averaged ? { averaged: result.averaged } : {}), seconds: result.seconds };
}

/** How the ensemble's weights were chosen, for the version's metadata. */
export function describeWeights(result: EnsembleTrainingResult): string {
  const one = (m: MemberResult) =>
    m.averaged
      ? `mean of epochs ${m.averaged.fromEpoch}-${m.averaged.toEpoch} (validation AUC ${m.averaged.validationAuc.toFixed(3)}; best single epoch ${m.bestEpoch}: ${m.bestEpochValidationAuc.toFixed(3)})`
      : `epoch ${m.bestEpoch} of ${m.epochs}`;
  if (result.members.length === 1) return one(result.members[0]!);
  return `mean of ${result.members.length} members' logits: ${result.members.map((m) => `seed ${m.seed} ${one(m)} (validation AUC ${m.validationAuc.toFixed(3)})`).join('; ')}`;
}

export async function trainEnsemble(
  data: { train: LabelledImages; validation: LabelledImages },
  requested: TrainingParams,
  callbacks: TrainingCallbacks = {},
  signal?: AbortSignal,
  options: TrainingOptions & { keepMembers?: boolean } = {},
): Promise<EnsembleTrainingResult> {
  const params: Required<TrainingParams> = { ...defaultTrainingParams, ...requested };
  const count = params.ensembleMembers;
  // Member m's epochs continue where member m - 1's planned ones end.
  const asOneRun = <T extends { epoch: number; epochs: number }>(progress: T, m: number): T => ({ ...progress, epoch: m * params.epochs + progress.epoch, epochs: count * params.epochs });
  const models: tf.LayersModel[] = [];
  const runs: TrainingResult[] = [];
  try {
    for (let m = 0; m < count; m++) {
      const seed = memberSeed(params.seed, m);
      const membersAfter = count - m - 1;
      const run = await trainModel(
        data,
        { ...params, seed },
        {
          onBatchEnd: (p) =>
            callbacks.onBatchEnd?.({
              ...asOneRun(p, m),
              etaSeconds: p.etaSeconds + (membersAfter * params.epochs * p.batchesPerEpoch * params.batchSize) / p.imagesPerSecond,
            }),
          onEpochEnd: (p) => callbacks.onEpochEnd?.(asOneRun(p, m)),
        },
        signal,
        options,
      );
      models.push(run.model);
      runs.push(run);
    }
    const members = runs.map((run, m) => memberResult(run, memberSeed(params.seed, m)));
    const first = runs[0]!;
    const model = count === 1 ? first.model : combineMembers(models);
    const keepMembers = options.keepMembers && count > 1;
    if (count > 1 && !keepMembers) models.forEach((member) => member.dispose());
    return {
      model,
      history: runs.flatMap((run, m) => run.history.map((h) => asOneRun(h, m))),
      bestEpoch: first.bestEpoch,
      ...(first.averaged && count === 1 ? { averaged: first.averaged } : {}),
      stoppedEarly: runs.some((run) => run.stoppedEarly),
      cancelled: false,
      seconds: runs.reduce((sum, run) => sum + run.seconds, 0),
      threads: first.threads,
      members,
      ...(keepMembers ? { memberModels: models } : {}),
    };
  } catch (error) {
    models.forEach((member) => member.dispose());
    throw error;
  }
}
