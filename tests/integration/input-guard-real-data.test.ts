// The input guard on real dermoscopic images: fitted at training time on the training split, it
// must let at least 95% of the untouched test split through and refuse the non-lesion pictures
// made here (photographed text, solid colours, noise, drawn shapes, blurred or badly exposed lesions).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { loadImageFolder, subset } from '../../server/ml/dataset.js';
import { stratifiedSplit } from '../../server/ml/splits.js';
import { trainModel } from '../../server/ml/train.js';
import { defaultTrainingParams, type ModelMetadata } from '../../server/ml/types.js';
import { Classifier } from '../../server/ml/classifier.js';
import { Screener } from '../../server/ml/screening.js';
import { fitInputGuard } from '../../server/ml/guard/fit-guard.js';
import { UnsuitableImageError } from '../../server/ml/guard/input-guard.js';
import { sharedDatasetDir } from '../../server/paths.js';
import { createNonLesionImages } from '../helpers/non-lesion-images.js';

const available = fs.existsSync(path.join(sharedDatasetDir, 'train'));
if (!available) console.warn(`skipping the input guard on real images: ${sharedDatasetDir} is absent`);

function testFiles(): string[] {
  return ['benign', 'malignant'].flatMap((c) => fs.readdirSync(path.join(sharedDatasetDir, 'test', c)).map((f) => path.join(sharedDatasetDir, 'test', c, f)));
}

describe.skipIf(!available)('the input guard of a model trained on real lesion images', () => {
  let model: tf.LayersModel;
  let screener: Screener;

  beforeAll(async () => {
    await initBackend();
    const params = { ...defaultTrainingParams, architecture: 'original-cnn', imageSize: 64, epochs: 3, batchSize: 32, seed: 77, augmentation: 'basic' as const };
    const all = await loadImageFolder(path.join(sharedDatasetDir, 'train'), { imageSize: params.imageSize });
    // 800 of the 1,700 training images keep the run short; the class ratio is preserved.
    const pool = subset(all, stratifiedSplit(all.labels, 800 / all.count, 3).validation);
    const split = stratifiedSplit(pool.labels, 0.2, 4);
    const train = subset(pool, split.train);
    const validation = subset(pool, split.validation);
    ({ model } = await trainModel({ train, validation }, params));
    const inputGuard = fitInputGuard(model, train, validation);
    const metadata = { version: 'real', imageSize: params.imageSize, threshold: 0.5, classNames: all.classNames, positiveClass: all.classNames[1], inputGuard } as ModelMetadata;
    screener = new Screener(new Classifier(model, metadata));
  }, 1_200_000);

  afterAll(() => model?.dispose());

  const refusal = (bytes: Buffer) =>
    screener.screen(bytes).then(
      () => null,
      (error: unknown) => {
        if (error instanceof UnsuitableImageError) return error.reason;
        throw error;
      },
    );

  it('lets at least 95% of the test split through and refuses at least 95% of the non-lesions', async () => {
    const files = testFiles();
    expect(files).toHaveLength(540);
    const lesionRefusals: Record<string, number> = {};
    for (const file of files) {
      const reason = await refusal(fs.readFileSync(file));
      if (reason) lesionRefusals[reason] = (lesionRefusals[reason] ?? 0) + 1;
    }
    const refusedLesions = Object.values(lesionRefusals).reduce((s, n) => s + n, 0);
    const passRate = 1 - refusedLesions / files.length;

    const spoiled = files.filter((_, i) => i % 54 === 0).map((f) => fs.readFileSync(f));
    const others = await createNonLesionImages({ perKind: 10, lesions: spoiled, seed: 31 });
    const byKind: Record<string, { refused: number; total: number; reasons: Record<string, number> }> = {};
    for (const image of others) {
      const reason = await refusal(image.bytes);
      const kind = (byKind[image.kind] ??= { refused: 0, total: 0, reasons: {} });
      kind.total++;
      if (reason) {
        kind.refused++;
        kind.reasons[reason] = (kind.reasons[reason] ?? 0) + 1;
      }
    }
    const refusedOthers = Object.values(byKind).reduce((s, k) => s + k.refused, 0);
    const rejectionRate = refusedOthers / others.length;

    console.info(
      `input guard on real data: ${(passRate * 100).toFixed(1)}% of ${files.length} test lesions pass (refused: ${JSON.stringify(lesionRefusals)}); ` +
        `${(rejectionRate * 100).toFixed(1)}% of ${others.length} non-lesions refused: ` +
        Object.entries(byKind)
          .map(([kind, k]) => `${kind} ${k.refused}/${k.total} ${JSON.stringify(k.reasons)}`)
          .join(', '),
    );
    expect(passRate).toBeGreaterThanOrEqual(0.95);
    expect(rejectionRate).toBeGreaterThanOrEqual(0.95);
    for (const [kind, k] of Object.entries(byKind)) expect(k.refused / k.total, kind).toBeGreaterThanOrEqual(0.8);
  });
});
