// npm run train -- --data <root> [--epochs N --batch-size N --lr X --image-size N --seed N ...]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runTraining } from '../training/pipeline.js';
import type { TrainingEvent } from '../training/training-events.js';
import { startCli, runCli } from './common.js';
import { trainingOptions, trainingOptionsUsage, trainingParamsFromOptions } from './training-options.js';
import { ProgressBar, formatMetric } from './progress.js';
import { printMetrics } from './print-metrics.js';
import { borrowDecisionRule } from '../training/borrowed-rule.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { ModelMetadata } from '../ml/types.js';

async function versionMetadata(modelsDir: string, version: string): Promise<ModelMetadata> {
  try {
    return await new ModelRegistry(modelsDir).metadata(version);
  } catch (error) {
    throw new Error(`no intact version "${version}" in ${modelsDir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

const usage = `usage: npm run train -- --data <folder with train/<class>/ and optionally test/<class>/>
  ${trainingOptionsUsage}
  [--positive-class NAME] [--promote] [--json]
  [--rule-from VERSION]  use that version's temperature, views and threshold instead of fitting
      them (with --validation-fraction 0: every image trains; the version must be of this recipe)`;

runCli(async () => {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      ...trainingOptions,
      'positive-class': { type: 'string' },
      promote: { type: 'boolean', default: false },
      'rule-from': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.data) {
    process.stderr.write(`${usage}\n`);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const params = trainingParamsFromOptions(values);
  const { config } = await startCli();
  const ruleFrom = values['rule-from'];
  const decisionRule = ruleFrom === undefined ? undefined : borrowDecisionRule(await versionMetadata(config.modelsDir, ruleFrom), params);
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
    { dataDir: path.resolve(values.data), modelsDir: config.modelsDir, params, positiveClass: values['positive-class'], autoPromote: values.promote, ...(decisionRule && { decisionRule }) },
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
