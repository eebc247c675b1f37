// npm run train -- --data <root> [--epochs N --batch-size N --lr X --image-size N --seed N ...]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultTrainingParams, type TrainingParams } from '../ml/types.js';
import { resolveTrainingParams } from '../ml/training-params.js';
import { runTraining } from '../training/pipeline.js';
import type { TrainingEvent } from '../training/training-events.js';
import { startCli, runCli } from './common.js';
import { ProgressBar, formatMetric } from './progress.js';
import { printMetrics } from './print-metrics.js';

const usage = `usage: npm run train -- --data <folder with train/<class>/ and optionally test/<class>/>
  [--epochs N] [--batch-size N] [--lr X] [--image-size N] [--seed N] [--architecture NAME]
  [--validation-fraction F] [--patience N] [--no-augment] [--no-class-weights]
  [--augmentation basic|strong] [--schedule constant|cosine] [--warmup EPOCHS] [--weight-decay X]
  [--label-smoothing X] [--average-epochs N] [--tta | --no-tta] [--no-calibrate] [--target-sensitivity X]
  [--positive-class NAME] [--promote] [--json]`;

function numberOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${value}"\n${usage}`);
  return n;
}

runCli(async () => {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
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
      augmentation: { type: 'string' },
      schedule: { type: 'string' },
      warmup: { type: 'string' },
      'weight-decay': { type: 'string' },
      'label-smoothing': { type: 'string' },
      'average-epochs': { type: 'string' },
      tta: { type: 'boolean', default: false },
      'no-tta': { type: 'boolean', default: false },
      'no-calibrate': { type: 'boolean', default: false },
      'target-sensitivity': { type: 'string' },
      'positive-class': { type: 'string' },
      promote: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.data) {
    process.stderr.write(`${usage}\n`);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const d = defaultTrainingParams;
  const params = resolveTrainingParams({
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
    augmentation: (values.augmentation ?? d.augmentation) as TrainingParams['augmentation'],
    learningRateSchedule: (values.schedule ?? d.learningRateSchedule) as TrainingParams['learningRateSchedule'],
    warmupEpochs: numberOption('warmup', values.warmup, d.warmupEpochs),
    weightDecay: numberOption('weight-decay', values['weight-decay'], d.weightDecay),
    labelSmoothing: numberOption('label-smoothing', values['label-smoothing'], d.labelSmoothing),
    averageEpochs: numberOption('average-epochs', values['average-epochs'], d.averageEpochs),
    testTimeAugmentation: values['no-tta'] ? false : values.tta || d.testTimeAugmentation,
    calibrate: !values['no-calibrate'],
    targetSensitivity: numberOption('target-sensitivity', values['target-sensitivity'], d.targetSensitivity),
  });
  const { config } = await startCli();
  const dataProgress = new ProgressBar('decoding');
  let batchProgress: ProgressBar | undefined;
  const onEvent = (event: TrainingEvent) => {
    switch (event.type) {
      case 'stage':
        process.stderr.write(`${event.stage}: ${event.message}\n`);
        break;
      case 'data-progress':
        dataProgress.update(event.done, event.total);
        if (event.done === event.total) dataProgress.finish();
        break;
      case 'batch':
        batchProgress ??= new ProgressBar(`epoch ${event.epoch}/${event.epochs}`);
        batchProgress.update(event.batch, event.batchesPerEpoch, `loss ${event.loss.toFixed(4)} ${event.imagesPerSecond.toFixed(1)} img/s ETA ${Math.round(event.etaSeconds)}s`);
        break;
      case 'epoch':
        batchProgress?.finish(
          `loss ${formatMetric(event.loss, 4)} acc ${formatMetric(event.accuracy)} | val loss ${formatMetric(event.validationLoss, 4)} acc ${formatMetric(event.validationAccuracy)} AUC ${formatMetric(event.validationAuc)} | ${event.seconds.toFixed(1)}s, ${event.imagesPerSecond.toFixed(1)} img/s`,
        );
        batchProgress = undefined;
        break;
      default:
        break;
    }
  };
  const { model, activated } = await runTraining(
    { dataDir: path.resolve(values.data), modelsDir: config.modelsDir, params, positiveClass: values['positive-class'], autoPromote: values.promote },
    onEvent,
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...model, activated })}\n`);
    return;
  }
  process.stdout.write(`\nsaved ${model.version} in ${config.modelsDir}${activated ? ' (active)' : ''}; ${model.trainingSeconds.toFixed(1)}s, ${model.epochsCompleted} epochs, threshold ${model.threshold.toFixed(4)}\n`);
  if (model.metrics.validation) printMetrics('validation', model.metrics.validation);
  if (model.metrics.test) printMetrics('test', model.metrics.test);
});
