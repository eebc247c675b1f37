// The accepted range of every training hyper-parameter, checked in one place for the CLI and the API.
import { architectureInfo, architectureNames } from './models/catalog.js';
import { augmentationLevels, defaultTrainingParams, learningRateSchedules, type TrainingParams } from './types.js';

export class TrainingParamsError extends Error {
  readonly code = 'BAD_TRAINING_INPUT';
  constructor(readonly field: keyof TrainingParams, message: string) {
    super(`${field}: ${message}`);
  }
}

type AllParams = Required<TrainingParams>;
type NumericField = { [K in keyof AllParams]: AllParams[K] extends number ? K : never }[keyof AllParams];

const ranges: Record<NumericField, { min: number; max: number; integer: boolean; minExclusive?: boolean }> = {
  imageSize: { min: 16, max: 384, integer: true },
  epochs: { min: 1, max: 500, integer: true },
  batchSize: { min: 1, max: 512, integer: true },
  learningRate: { min: 0, max: 1, integer: false, minExclusive: true },
  seed: { min: 0, max: 2 ** 32 - 1, integer: true },
  validationFraction: { min: 0, max: 0.5, integer: false },
  earlyStoppingPatience: { min: 0, max: 500, integer: true },
  targetSensitivity: { min: 0.5, max: 1, integer: false },
  warmupEpochs: { min: 0, max: 50, integer: false },
  weightDecay: { min: 0, max: 1, integer: false },
  labelSmoothing: { min: 0, max: 0.5, integer: false },
  averageEpochs: { min: 0, max: 500, integer: true },
  ensembleMembers: { min: 1, max: 8, integer: true },
  mixup: { min: 0, max: 4, integer: false },
};

/** Defaults filled in, every field checked; throws TrainingParamsError naming the first bad field. */
export function resolveTrainingParams(input: Partial<TrainingParams>): Required<TrainingParams> {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null));
  const params: Required<TrainingParams> = { ...defaultTrainingParams, ...defined };
  for (const [field, range] of Object.entries(ranges) as [NumericField, (typeof ranges)[NumericField]][]) {
    const value = params[field];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TrainingParamsError(field, `must be a finite number, got ${String(value)}`);
    if (range.integer && !Number.isInteger(value)) throw new TrainingParamsError(field, `must be a whole number, got ${value}`);
    const tooLow = range.minExclusive ? value <= range.min : value < range.min;
    if (tooLow || value > range.max) {
      throw new TrainingParamsError(field, `must be ${range.minExclusive ? 'above' : 'at least'} ${range.min} and at most ${range.max}, got ${value}`);
    }
  }
  for (const field of ['classWeighting', 'augment', 'testTimeAugmentation', 'calibrate', 'groupNearDuplicates'] as const) {
    if (typeof params[field] !== 'boolean') throw new TrainingParamsError(field, 'must be true or false');
  }
  if (!augmentationLevels.includes(params.augmentation)) {
    throw new TrainingParamsError('augmentation', `must be one of ${augmentationLevels.join(', ')}, got "${params.augmentation}"`);
  }
  if (!learningRateSchedules.includes(params.learningRateSchedule)) {
    throw new TrainingParamsError('learningRateSchedule', `must be one of ${learningRateSchedules.join(', ')}, got "${params.learningRateSchedule}"`);
  }
  if (!architectureNames().includes(params.architecture)) {
    throw new TrainingParamsError('architecture', `unknown architecture "${params.architecture}"; known: ${architectureNames().join(', ')}`);
  }
  const { minImageSize } = architectureInfo(params.architecture);
  if (params.imageSize < minImageSize) {
    throw new TrainingParamsError('imageSize', `${params.architecture} needs at least ${minImageSize}px, got ${params.imageSize}`);
  }
  return params;
}
