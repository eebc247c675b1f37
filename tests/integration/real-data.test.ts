// Training on real dermoscopic images must do clearly better than chance on images it never saw.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { loadImageFolder, subset } from '../../server/ml/dataset.js';
import { stratifiedSplit } from '../../server/ml/splits.js';
import { trainModel } from '../../server/ml/train.js';
import { predictScores } from '../../server/ml/predict.js';
import { chooseThreshold, evaluateScores } from '../../server/ml/metrics.js';
import { defaultTrainingParams } from '../../server/ml/types.js';
import { sharedDatasetDir } from '../../server/paths.js';

const available = fs.existsSync(path.join(sharedDatasetDir, 'train'));
if (!available) console.warn(`skipping real-data training: ${sharedDatasetDir} is absent`);

describe.skipIf(!available)('training on a subset of the real skin-lesion images', () => {
  beforeAll(() => initBackend());

  it('beats chance clearly on the untouched test split', async () => {
    const params = { ...defaultTrainingParams, imageSize: 48, epochs: 4, batchSize: 32, seed: 2024 };
    const all = await loadImageFolder(path.join(sharedDatasetDir, 'train'), { imageSize: params.imageSize });
    const test = await loadImageFolder(path.join(sharedDatasetDir, 'test'), { imageSize: params.imageSize });
    // 700 of the 1,700 training images keep the run short; the class ratio is preserved.
    const sample = stratifiedSplit(all.labels, 700 / all.count, 1).validation;
    const pool = subset(all, sample);
    const split = stratifiedSplit(pool.labels, 0.2, 2);
    const train = subset(pool, split.train);
    const validation = subset(pool, split.validation);

    const before = tf.memory().numTensors;
    const { model, history } = await trainModel({ train, validation }, params);
    const threshold = chooseThreshold(validation.labels, predictScores(model, validation), { targetSensitivity: 0.9 });
    const metrics = evaluateScores(test.labels, predictScores(model, test), threshold);
    model.dispose();
    console.info(
      `real data: ${train.count} train images, ${history.length} epochs, test AUC ${metrics.auc.toFixed(3)}, ` +
        `sensitivity ${metrics.sensitivity.toFixed(3)}, specificity ${metrics.specificity.toFixed(3)}`,
    );

    expect(test.count).toBe(540);
    expect(metrics.auc).toBeGreaterThan(0.75);
    expect(metrics.balancedAccuracy).toBeGreaterThan(0.65);
    expect(tf.memory().numTensors).toBe(before);
  });
});
