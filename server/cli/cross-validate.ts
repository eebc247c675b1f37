// npm run cross-validate -- --data <root> [--folds 3] [--fold 0,2] [recipe flags as for train]
// Trains the recipe once per fold of <root>/train and reports how it did on the held-out folds;
// saves no model and never reads <root>/test.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadImageFolder } from '../ml/dataset.js';
import { NEAR_DUPLICATE_BITS, perceptualHashes } from '../ml/near-duplicates.js';
import { HASH_SOURCE_SIZE } from '../dataset/perceptual-hash.js';
import { crossValidate } from '../ml/cross-validation.js';
import { startCli, runCli } from './common.js';
import { trainingOptions, trainingOptionsUsage, trainingParamsFromOptions } from './training-options.js';
import { ProgressBar, formatMetric } from './progress.js';

const usage = `usage: npm run cross-validate -- --data <folder with train/<class>/>
  [--folds K (default 3)] [--fold I,J (only these, 0-based)] [--near-duplicate-distance BITS (default 6)]
  [--threshold-transfer T1,T2,... [--inner-validation FRACTION (default 0.225)]]
      each fold's model then picks its epoch, temperature and a threshold per target sensitivity on
      an inner split of its training part, and the held-out fold only measures them
    [--refit]  then also trains on the whole training part (last epoch) and measures it under
      the inner split's rule: what the held-back split costs, and whether a borrowed rule carries
  ${trainingOptionsUsage}
  [--positive-class NAME] [--json]`;

function targetList(value: string): number[] {
  return value.split(',').map((part) => {
    const n = Number(part);
    if (!(n > 0 && n < 1)) throw new Error(`--threshold-transfer takes target sensitivities in (0, 1) separated by commas, got "${value}"`);
    return n;
  });
}

function integerList(value: string): number[] {
  return value.split(',').map((part) => {
    const n = Number(part);
    if (!Number.isInteger(n)) throw new Error(`--fold takes 0-based fold numbers separated by commas, got "${value}"`);
    return n;
  });
}

runCli(async () => {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      folds: { type: 'string', default: '3' },
      fold: { type: 'string' },
      'near-duplicate-distance': { type: 'string', default: String(NEAR_DUPLICATE_BITS) },
      'threshold-transfer': { type: 'string' },
      // ~255 of the ~1,130 images of a fold's training part: as many as a training run validates on.
      'inner-validation': { type: 'string', default: '0.225' },
      refit: { type: 'boolean', default: false },
      ...trainingOptions,
      'positive-class': { type: 'string' },
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
  const folds = Number(values.folds);
  const distance = Number(values['near-duplicate-distance']);
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`--folds must be an integer of at least 2, got "${values.folds}"`);
  if (!Number.isInteger(distance) || distance < 0 || distance > 64) throw new Error(`--near-duplicate-distance must be 0..64 bits`);
  const innerValidationFraction = Number(values['inner-validation']);
  if (!(innerValidationFraction > 0 && innerValidationFraction < 0.5)) throw new Error(`--inner-validation must be a fraction in (0, 0.5), got "${values['inner-validation']}"`);
  if (values.refit && values['threshold-transfer'] === undefined) throw new Error('--refit needs --threshold-transfer (the rule it borrows comes from the inner split)');
  const thresholdTransfer = values['threshold-transfer'] === undefined ? undefined : { innerValidationFraction, targets: targetList(values['threshold-transfer']), refit: values.refit };
  const trainDir = path.join(path.resolve(values.data), 'train');
  if (!fs.existsSync(trainDir)) throw new Error(`no training images: ${trainDir} does not exist`);
  await startCli();

  const decoding = new ProgressBar('decoding');
  const images = await loadImageFolder(trainDir, {
    imageSize: params.imageSize,
    positiveClass: values['positive-class'],
    onProgress: (done, total) => {
      decoding.update(done, total);
      if (done === total) decoding.finish();
    },
  });
  // Hashes from a decode at the hash's own size, so every input size gets the same folds.
  const small = await loadImageFolder(trainDir, { imageSize: HASH_SOURCE_SIZE, positiveClass: values['positive-class'] });
  const smallHashes = perceptualHashes(small);
  const hashOf = new Map(small.files.map((file, i) => [file, smallHashes[i]]));
  const hashes = images.files.map((file) => {
    const hash = hashOf.get(file);
    if (hash === undefined) throw new Error(`${file} could not be decoded a second time for near-duplicate hashing`);
    return hash;
  });
  let batches: ProgressBar | undefined;
  const summary = await crossValidate(
    images,
    params,
    { folds, onlyFolds: values.fold === undefined ? undefined : integerList(values.fold), nearDuplicateDistance: distance, hashes, thresholdTransfer },
    {
      onFoldStart: (k, trainCount, validationCount) => process.stderr.write(`fold ${k + 1}/${folds}: ${trainCount} training, ${validationCount} held-out images\n`),
      onRefitStart: (k, trainCount) => process.stderr.write(`fold ${k + 1}/${folds}: the same recipe on all ${trainCount} images of its training part\n`),
      onBatchEnd: (e) => {
        batches ??= new ProgressBar(`  epoch ${e.epoch}/${e.epochs}`);
        batches.update(e.batch, e.batchesPerEpoch, `loss ${e.loss.toFixed(4)} ${e.imagesPerSecond.toFixed(1)} img/s`);
      },
      onEpochEnd: (e) => {
        batches?.finish(`loss ${formatMetric(e.loss, 4)} | ${thresholdTransfer ? 'inner validation' : 'held-out'} AUC ${formatMetric(e.validationAuc)} | ${e.seconds.toFixed(1)}s`);
        batches = undefined;
      },
      onFoldEnd: (f) =>
        process.stderr.write(
          `fold ${f.fold + 1}: AUC ${formatMetric(f.auc)} sensitivity ${formatMetric(f.sensitivity)} specificity ${formatMetric(f.specificity)} ECE ${formatMetric(f.ece)} (best epoch ${f.bestEpoch}, ${f.trainingSeconds.toFixed(0)}s)${f.refit ? `; on the whole training part: AUC ${formatMetric(f.refit.auc)} ECE ${formatMetric(f.refit.ece)} (${f.refit.trainingSeconds.toFixed(0)}s)` : ''}\n`,
        ),
    },
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ params, foldCount: folds, ...summary })}\n`);
    return;
  }
  const d = summary.nearDuplicateGroups;
  process.stdout.write(
    [
      `${params.architecture} at ${params.imageSize}px, ${params.epochs} epochs, seed ${params.seed}: ${summary.folds.length} of ${folds} folds, ${summary.imagesJudged} images judged out of fold`,
      `  near-duplicates kept together: ${d.groups} groups, ${d.images} images`,
      ...summary.folds.map(
        (f) => `  fold ${f.fold + 1}: n=${f.validationCount} AUC ${formatMetric(f.auc)}  sensitivity ${formatMetric(f.sensitivity)}  specificity ${formatMetric(f.specificity)}  ECE ${formatMetric(f.ece)}  ${f.trainingSeconds.toFixed(0)}s`,
      ),
      `  mean AUC ${formatMetric(summary.meanAuc)} (sd ${formatMetric(summary.sdAuc)}), pooled AUC ${formatMetric(summary.pooledAuc)}`,
      `  pooled sensitivity ${formatMetric(summary.pooledSensitivity)}  specificity ${formatMetric(summary.pooledSpecificity)}  ECE ${formatMetric(summary.pooledEce)}`,
      ...(summary.pooledByConfiguration ?? []).map(
        (c) =>
          `  ${c.members} member${c.members > 1 ? 's' : ''} x ${c.views} view${c.views > 1 ? 's' : ''}: AUC by fold ${summary.folds.map((f) => formatMetric(f.byConfiguration!.find((x) => x.members === c.members && x.views === c.views)!.auc)).join(', ')}  mean ${formatMetric(c.meanAuc)}  pooled ${formatMetric(c.auc)}`,
      ),
      ...(summary.pooledTransfer ?? []).map(
        (t) =>
          `  target ${t.target}: held-out sensitivity ${formatMetric(t.sensitivity)} (folds ${summary.folds.map((f) => formatMetric(f.transfer!.find((x) => x.target === t.target)!.sensitivity)).join(', ')})  specificity ${formatMetric(t.specificity)}`,
      ),
      ...(summary.pooledRefit
        ? [
            `  trained on the whole training part, under the inner split's rule: AUC by fold ${summary.folds.map((f) => formatMetric(f.refit!.auc)).join(', ')}  mean ${formatMetric(summary.pooledRefit.meanAuc)}  pooled ${formatMetric(summary.pooledRefit.pooledAuc)}  ECE ${formatMetric(summary.pooledRefit.pooledEce)}`,
            ...summary.pooledRefit.transfer.map(
              (t) =>
                `    target ${t.target}: held-out sensitivity ${formatMetric(t.sensitivity)} (folds ${summary.folds.map((f) => formatMetric(f.refit!.transfer.find((x) => x.target === t.target)!.sensitivity)).join(', ')})  specificity ${formatMetric(t.specificity)}`,
            ),
          ]
        : []),
      '',
    ].join('\n'),
  );
});
