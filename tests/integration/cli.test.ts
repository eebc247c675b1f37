// The command-line tools as a user runs them: separate processes, real files, exit codes.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/paths.js';
import { defaultTrainingParams } from '../../server/ml/types.js';
import { createToyDataset, solidImage, type ToyDataset } from '../helpers/images.js';

const solidPng = () => solidImage(120, 120, [210, 160, 140]);

const run = promisify(execFile);
let toy: ToyDataset;
let modelsDir: string;

function cli(script: string, args: string[]) {
  return run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/cli', script), ...args], {
    cwd: repoRoot,
    env: { ...process.env, MODELS_DIR: modelsDir },
    maxBuffer: 16 * 1024 * 1024,
  });
}

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 24, test: 10 }, size: 48, seed: 9 });
  modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-models-'));
});

afterAll(async () => {
  await toy?.cleanup();
  fs.rmSync(modelsDir, { recursive: true, force: true });
});

describe('command line', () => {
  it('hands all of a large output to a pipe before exiting (train --json prints ~190 KB)', async () => {
    const script = path.join(modelsDir, 'large-output.ts');
    const common = path.join(repoRoot, 'server/cli/common.ts');
    fs.writeFileSync(script, `import { runCli } from ${JSON.stringify(common)};\nrunCli(async () => { process.stdout.write('x'.repeat(300_000) + '\\n'); });\n`);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    expect(stdout.length).toBe(300_001);
  });

  it('train saves an active version, evaluate --json and classify read it back', async () => {
    const trained = await cli('train.ts', ['--data', toy.root, '--epochs', '4', '--image-size', '32', '--batch-size', '16', '--seed', '3', '--json']);
    const saved = JSON.parse(trained.stdout);
    expect(saved).toMatchObject({ version: 'v1', activated: true, imageSize: 32, architecture: defaultTrainingParams.architecture });
    expect(trained.stderr).toContain('tfjs backend: wasm');

    const evaluated = JSON.parse((await cli('evaluate.ts', ['--data', toy.splitDir('test'), '--json'])).stdout);
    for (const key of ['auc', 'accuracy', 'balancedAccuracy', 'sensitivity', 'specificity', 'threshold', 'ece', 'n', 'modelVersion']) {
      expect(evaluated).toHaveProperty(key);
    }
    expect(evaluated.n).toBe(20);
    expect(evaluated.modelVersion).toBe('v1');
    expect(evaluated.threshold).toBeCloseTo(saved.threshold, 6);
    // Same images, same model, same threshold: the CLI's numbers equal the ones stored at training.
    expect(evaluated.auc).toBeCloseTo(saved.metrics.test.auc, 6);
    expect(evaluated.testTimeViews).toBe(saved.testTimeViews.length);
    // As a server with SCREENING_VIEWS=single scores: the image once, same temperature and threshold.
    const single = JSON.parse((await cli('evaluate.ts', ['--data', toy.splitDir('test'), '--views', 'single', '--json'])).stdout);
    expect(single).toMatchObject({ testTimeViews: 1, n: 20, modelVersion: 'v1' });
    expect(single.threshold).toBeCloseTo(saved.threshold, 6);
    const badViews = await cli('evaluate.ts', ['--data', toy.splitDir('test'), '--views', 'four']).catch((e) => e);
    expect(badViews.code).toBe(1);
    expect(badViews.stderr).toContain('--views must be all or single');

    const malignant = toy.files.find((f) => f.split === 'test' && f.className === 'malignant')!.path;
    const { stdout } = await cli('classify.ts', [malignant]);
    expect(stdout).toMatch(/malignant p=0\.\d+ risk=(medium|high|uncertain \(refer\)) 90% interval \[0\.\d+, [01]\.\d+\]/);
    expect(stdout).toMatch(/input check passed \(distance \d+\.\d+, limit \d+\.\d+\)/);
    expect(stdout).toContain('not a diagnosis');

    // --explain writes the heatmap overlay, at the photo's own size.
    const outDir = path.join(modelsDir, 'heatmaps');
    const explained = await cli('classify.ts', [malignant, '--explain', outDir, '--json']);
    const line = JSON.parse(explained.stdout);
    expect(line.explanation.file).toBe(path.join(outDir, `${path.parse(malignant).name}.heatmap.png`));
    expect(line.explanation.map.values.every((v: number) => v >= 0 && v <= 1)).toBe(true);
    expect(line.uncertainty.views).toHaveLength(8);
    expect(line.guard.status).toBe('passed');
    const png = fs.readFileSync(line.explanation.file);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(48); // width
    expect(png.readUInt32BE(20)).toBe(48); // height

    // A picture that is not a lesion is refused with its reason, and the exit code says so.
    const blank = path.join(modelsDir, 'blank.png');
    fs.writeFileSync(blank, Buffer.from(await solidPng()));
    const refused = await cli('classify.ts', [blank]).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/UNSUITABLE_IMAGE \(BLURRY\)/);
  });

  it('rethreshold saves the same weights with the threshold chosen again, and only for the data they were validated on', async () => {
    const out = JSON.parse((await cli('rethreshold.ts', ['--model', 'v1', '--data', toy.root, '--target-sensitivity', '0.99', '--json'])).stdout);
    expect(out).toMatchObject({ from: 'v1', version: 'v2', target: 0.99 });
    const read = (version: string) => JSON.parse(fs.readFileSync(path.join(modelsDir, version, 'metadata.json'), 'utf8'));
    const [v1, v2] = [read('v1'), read('v2')];
    expect(v2.weightsSha256).toBe(v1.weightsSha256);
    expect(v2.temperature).toBe(v1.temperature);
    expect(v2.threshold).toBe(out.threshold);
    expect(v2.threshold).toBeLessThanOrEqual(v1.threshold);
    expect(v2.trainingParams.targetSensitivity).toBe(0.99);
    // The same validation images as v1's, scored alike; only the threshold moved.
    expect(v2.metrics.validation.n).toBe(v1.metrics.validation.n);
    expect(v2.metrics.validation.auc).toBeCloseTo(v1.metrics.validation.auc, 6);
    expect(v2.metrics.validation.sensitivity).toBeGreaterThanOrEqual(0.99);
    expect(JSON.parse(fs.readFileSync(path.join(modelsDir, 'active.json'), 'utf8')).version).toBe('v1');
    const evaluated = JSON.parse((await cli('evaluate.ts', ['--data', toy.splitDir('test'), '--model', 'v2', '--json'])).stdout);
    expect(evaluated.sensitivity).toBeCloseTo(v2.metrics.test.sensitivity, 6);

    // Without the test split the data's fingerprint differs: refused, nothing written.
    const onlyTrain = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-train-only-'));
    fs.symlinkSync(toy.splitDir('train'), path.join(onlyTrain, 'train'));
    const refused = await cli('rethreshold.ts', ['--model', 'v1', '--data', onlyTrain, '--target-sensitivity', '0.95']).catch((e) => e);
    fs.rmSync(onlyTrain, { recursive: true, force: true });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not the data v1 was trained on/);
    expect(fs.existsSync(path.join(modelsDir, 'v3'))).toBe(false);
  });

  it('train --rule-from trains on every image and takes the version\'s temperature, views and threshold instead of fitting them', async () => {
    const read = (version: string) => JSON.parse(fs.readFileSync(path.join(modelsDir, version, 'metadata.json'), 'utf8'));
    const recipe = ['--data', toy.root, '--epochs', '2', '--batch-size', '16', '--seed', '4', '--validation-fraction', '0', '--json'];
    const out = JSON.parse((await cli('train.ts', [...recipe, '--image-size', '32', '--rule-from', 'v2'])).stdout);
    const v2 = read('v2');
    expect(out.version).toBe('v3');
    expect(out.threshold).toBe(v2.threshold);
    expect(out.temperature).toBe(v2.temperature);
    expect(out.testTimeViews).toEqual(v2.testTimeViews);
    expect(out.trainingParams).toMatchObject({ validationFraction: 0, targetSensitivity: 0.99 });
    expect(out.weightsFrom).toMatch(/^epoch 2 of 2; temperature, views and threshold of v2 \(/);
    // No image was held back, so there are no validation figures; the test split is measured at the borrowed threshold.
    expect(out.metrics.validation).toBeUndefined();
    const evaluated = JSON.parse((await cli('evaluate.ts', ['--data', toy.splitDir('test'), '--model', 'v3', '--json'])).stdout);
    expect(out.metrics.test.sensitivity).toBeCloseTo(evaluated.sensitivity, 6);

    // A rule chosen on another recipe's scores does not carry: refused before training, nothing saved.
    const refused = await cli('train.ts', [...recipe, '--image-size', '40', '--rule-from', 'v1']).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("v1's decision rule does not carry to this recipe: input size 32 against 40");
    const missing = await cli('train.ts', [...recipe, '--image-size', '32', '--rule-from', 'v9']).catch((e) => e);
    expect(missing.stderr).toContain('no intact version "v9"');
    expect(fs.existsSync(path.join(modelsDir, 'v4'))).toBe(false);
  });

  it('classify reports each bad file and exits non-zero', async () => {
    const notAnImage = path.join(modelsDir, 'notes.jpg');
    fs.writeFileSync(notAnImage, 'these are not pixels');
    const failure = await cli('classify.ts', [notAnImage, path.join(modelsDir, 'missing.png')]).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stdout).toContain('NOT_AN_IMAGE');
    expect(failure.stdout).toContain('UNREADABLE_FILE');
  });

  it('train refuses out-of-range parameters with a clear message', async () => {
    const failure = await cli('train.ts', ['--data', toy.root, '--epochs', '0']).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain('epochs: must be at least 1');
  });
});
