// npm run rethreshold -- --model <version> --data <root> --target-sensitivity S [--json]
// Saves the same weights as a new version whose decision threshold is chosen again, on the
// version's own validation split, for another target sensitivity; temperature and views stay.
// The split is rebuilt from the version's recorded seed and settings and must score as it did
// when the version was saved, or nothing is written. Test metrics are measured, never used.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { datasetFingerprint, loadImageFolder } from '../ml/dataset.js';
import { chooseThreshold, evaluateScores } from '../ml/metrics.js';
import { validationSplit } from '../ml/validation-split.js';
import { ModelRegistry } from '../registry/model-registry.js';
import { startCli, loadClassifier, runCli } from './common.js';
import { printMetrics } from './print-metrics.js';

const usage = 'usage: npm run rethreshold -- --model <version> --data <folder with train/<class>/ and optionally test/<class>/> --target-sensitivity S [--json]';

runCli(async () => {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      'target-sensitivity': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const target = Number(values['target-sensitivity']);
  if (!values.model || !values.data || !(target > 0 && target < 1)) throw new Error(usage);
  const { config } = await startCli();
  const classifier = await loadClassifier(config, values.model);
  const { metadata } = classifier;
  const params = metadata.trainingParams;
  const load = (dir: string) => loadImageFolder(dir, { imageSize: metadata.imageSize, positiveClass: metadata.positiveClass });
  const root = path.resolve(values.data);
  const all = await load(path.join(root, 'train'));
  const testDir = path.join(root, 'test');
  const test = fs.existsSync(testDir) ? await load(testDir) : undefined;

  // The same images, the same split, the same scores: else the threshold would be chosen on
  // images other than the ones the version was validated on.
  const recorded = metadata.datasetFingerprint?.hash;
  const found = datasetFingerprint(test ? { train: all, test } : { train: all }).hash;
  if (recorded !== found) throw new Error(`${values.data} is not the data ${metadata.version} was trained on (fingerprint ${found.slice(0, 12)} against ${recorded?.slice(0, 12) ?? 'none recorded'})`);
  const { validation } = validationSplit(all, params);
  const scores = classifier.scoreImages(validation);
  const before = evaluateScores(validation.labels, scores, metadata.threshold);
  const stored = metadata.metrics.validation;
  if (!stored || stored.n !== before.n || stored.positives !== before.positives || Math.abs(stored.auc - before.auc) > 1e-3) {
    throw new Error(`the rebuilt validation split does not score as ${metadata.version}'s did (AUC ${before.auc.toFixed(4)} on ${before.n} images against ${stored?.auc.toFixed(4)} on ${stored?.n})`);
  }

  const threshold = chooseThreshold(validation.labels, scores, { targetSensitivity: target });
  const metrics = {
    validation: evaluateScores(validation.labels, scores, threshold),
    ...(test && { test: evaluateScores(test.labels, classifier.scoreImages(test), threshold) }),
  };
  const { version: _version, createdAt: _createdAt, ...kept } = metadata;
  const saved = await new ModelRegistry(config.modelsDir).save(classifier.model, {
    ...kept,
    threshold,
    trainingParams: { ...params, targetSensitivity: target },
    metrics,
    weightsFrom: `${metadata.weightsFrom ?? 'the weights'} of ${metadata.version}; threshold chosen again for validation sensitivity ${target} (was ${params.targetSensitivity})`,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ from: metadata.version, version: saved.version, target, threshold, previousThreshold: metadata.threshold, metrics })}\n`);
    return;
  }
  process.stdout.write(`saved ${saved.version}: ${metadata.version}'s weights, threshold ${threshold.toFixed(4)} (was ${metadata.threshold.toFixed(4)}) for validation sensitivity ${target}\n`);
  printMetrics('validation', metrics.validation);
  if (metrics.test) printMetrics('test', metrics.test);
});
