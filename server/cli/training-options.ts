// The recipe flags shared by `npm run train` and `npm run cross-validate`, parsed into TrainingParams.
import { defaultTrainingParams, type ResolvedTrainingParams, type TrainingParams } from '../ml/types.js';
import { resolveTrainingParams } from '../ml/training-params.js';

export const trainingOptionsUsage = `[--epochs N] [--batch-size N] [--lr X] [--image-size N] [--seed N] [--architecture NAME]
  [--validation-fraction F] [--no-group-near-duplicates] [--patience N] [--no-augment] [--no-class-weights]
  [--augmentation basic|strong] [--schedule constant|cosine] [--warmup EPOCHS] [--weight-decay X]
  [--label-smoothing X] [--average-epochs N] [--members N] [--mixup ALPHA] [--tta | --no-tta] [--no-calibrate] [--target-sensitivity X]`;

/** parseArgs option definitions of the recipe flags. */
export const trainingOptions = {
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'image-size': { type: 'string' },
  seed: { type: 'string' },
  architecture: { type: 'string' },
  'validation-fraction': { type: 'string' },
  patience: { type: 'string' },
  'no-augment': { type: 'boolean', default: false },
  'no-class-weights': { type: 'boolean', default: false },
  'no-group-near-duplicates': { type: 'boolean', default: false },
  augmentation: { type: 'string' },
  schedule: { type: 'string' },
  warmup: { type: 'string' },
  'weight-decay': { type: 'string' },
  'label-smoothing': { type: 'string' },
  'average-epochs': { type: 'string' },
  members: { type: 'string' },
  mixup: { type: 'string' },
  tta: { type: 'boolean', default: false },
  'no-tta': { type: 'boolean', default: false },
  'no-calibrate': { type: 'boolean', default: false },
  'target-sensitivity': { type: 'string' },
} as const;

type TrainingOptionValues = { [K in keyof typeof trainingOptions]?: (typeof trainingOptions)[K]['type'] extends 'boolean' ? boolean : string };

function numberOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${value}"`);
  return n;
}

/** The recipe the flags describe, defaults filled in and validated. */
export function trainingParamsFromOptions(values: TrainingOptionValues): ResolvedTrainingParams {
  const d = defaultTrainingParams;
  return resolveTrainingParams({
    architecture: values.architecture ?? d.architecture,
    epochs: numberOption('epochs', values.epochs, d.epochs),
    batchSize: numberOption('batch-size', values['batch-size'], d.batchSize),
    learningRate: numberOption('lr', values.lr, d.learningRate),
    imageSize: numberOption('image-size', values['image-size'], d.imageSize),
    seed: numberOption('seed', values.seed, d.seed),
    validationFraction: numberOption('validation-fraction', values['validation-fraction'], d.validationFraction),
    earlyStoppingPatience: numberOption('patience', values.patience, d.earlyStoppingPatience),
    augment: !values['no-augment'],
    classWeighting: !values['no-class-weights'],
    groupNearDuplicates: !values['no-group-near-duplicates'],
    augmentation: (values.augmentation ?? d.augmentation) as TrainingParams['augmentation'],
    learningRateSchedule: (values.schedule ?? d.learningRateSchedule) as TrainingParams['learningRateSchedule'],
    warmupEpochs: numberOption('warmup', values.warmup, d.warmupEpochs),
    weightDecay: numberOption('weight-decay', values['weight-decay'], d.weightDecay),
    labelSmoothing: numberOption('label-smoothing', values['label-smoothing'], d.labelSmoothing),
    averageEpochs: numberOption('average-epochs', values['average-epochs'], d.averageEpochs),
    ensembleMembers: numberOption('members', values.members, d.ensembleMembers),
    mixup: numberOption('mixup', values.mixup, d.mixup),
    testTimeAugmentation: values['no-tta'] ? false : values.tta || d.testTimeAugmentation,
    calibrate: !values['no-calibrate'],
    targetSensitivity: numberOption('target-sensitivity', values['target-sensitivity'], d.targetSensitivity),
  });
}
