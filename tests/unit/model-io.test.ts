import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { ModelFileError, fileSystemHandler, sha256Hex } from '../../server/ml/model-io.js';

function smallConvModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  return model;
}

function predictions(model: tf.LayersModel, input: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync() as Float32Array);
}

async function expectDamaged(promise: Promise<unknown>, messagePart?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelFileError);
  expect((error as ModelFileError).code).toBe('DAMAGED_MODEL');
  if (messagePart) expect((error as Error).message).toContain(messagePart);
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'model-io-test-'));
  dirs.push(dir);
  return dir;
}

/** A saved model in a fresh folder; the in-memory model is disposed. */
async function savedModelDir(): Promise<string> {
  const dir = await tempDir();
  const model = smallConvModel();
  await model.save(fileSystemHandler(dir));
  model.dispose();
  return dir;
}

beforeAll(async () => {
  await initBackend();
});

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe('fileSystemHandler', () => {
  it('round-trips a conv + dense model with identical predictions and metadata', async () => {
    const dir = await tempDir();
    const model = smallConvModel();
    model.setUserDefinedMetadata({ classNames: ['benign', 'malignant'], threshold: 0.42 });
    const input = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 7);

    const result = await model.save(fileSystemHandler(dir));
    expect(result.modelArtifactsInfo.modelTopologyType).toBe('JSON');
    expect((await fs.readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toHaveLength(4); // 2 kernels, 2 biases
    expect(json.userDefinedMetadata).toEqual({ classNames: ['benign', 'malignant'], threshold: 0.42 });
    expect((await fs.stat(path.join(dir, 'weights.bin'))).size).toBe(model.countParams() * 4);

    const loaded = await tf.loadLayersModel(fileSystemHandler(dir));
    expect(loaded.getUserDefinedMetadata()).toEqual({ classNames: ['benign', 'malignant'], threshold: 0.42 });
    expect(Array.from(predictions(loaded, input))).toEqual(Array.from(predictions(model, input)));

    input.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('concatenates weight data given as several buffers', async () => {
    const dir = await tempDir();
    const first = new Float32Array([1, 2, 3]);
    const second = new Float32Array([4, 5]);
    await fileSystemHandler(dir).save!({
      modelTopology: { note: 'not a real topology' },
      weightSpecs: [
        { name: 'a', shape: [3], dtype: 'float32' },
        { name: 'b', shape: [2], dtype: 'float32' },
      ],
      weightData: [first.buffer, second.buffer],
    });
    const bytes = await fs.readFile(path.join(dir, 'weights.bin'));
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 5))).toEqual([1, 2, 3, 4, 5]);

    const artifacts = await fileSystemHandler(dir).load!();
    expect(artifacts.weightSpecs?.map((s) => s.name)).toEqual(['a', 'b']);
    expect(Array.from(new Float32Array(artifacts.weightData as ArrayBuffer))).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports truncated or padded weights as damaged', async () => {
    const dir = await savedModelDir();
    const weightsFile = path.join(dir, 'weights.bin');
    const original = await fs.readFile(weightsFile);

    await fs.writeFile(weightsFile, original.subarray(0, original.length - 4));
    await expectDamaged(fileSystemHandler(dir).load!(), `${original.length - 4} bytes`);
    await expectDamaged(tf.loadLayersModel(fileSystemHandler(dir)));

    await fs.writeFile(weightsFile, Buffer.concat([original, Buffer.alloc(1)]));
    await expectDamaged(fileSystemHandler(dir).load!());

    await fs.writeFile(weightsFile, original);
    await expect(fileSystemHandler(dir).load!()).resolves.toHaveProperty('weightSpecs');
  });

  it('reports unparsable or incomplete model.json as damaged', async () => {
    const dir = await savedModelDir();
    const modelFile = path.join(dir, 'model.json');
    const original = await fs.readFile(modelFile, 'utf8');

    await fs.writeFile(modelFile, original.slice(0, original.length / 2));
    await expectDamaged(fileSystemHandler(dir).load!(), 'not valid JSON');

    await fs.writeFile(modelFile, JSON.stringify({ modelTopology: {} }));
    await expectDamaged(fileSystemHandler(dir).load!(), 'weights manifest');

    await fs.writeFile(modelFile, JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [null] }] }));
    await expectDamaged(fileSystemHandler(dir).load!(), 'malformed');

    await fs.writeFile(modelFile, JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['../elsewhere.bin'], weights: [] }] }));
    await expectDamaged(fileSystemHandler(dir).load!(), 'outside the model folder');
  });

  it('reports missing files as damaged', async () => {
    const dir = await savedModelDir();
    await fs.rm(path.join(dir, 'weights.bin'));
    await expectDamaged(fileSystemHandler(dir).load!(), 'ENOENT');
    await fs.rm(path.join(dir, 'model.json'));
    await expectDamaged(fileSystemHandler(dir).load!(), 'model.json');
    await expectDamaged(fileSystemHandler(path.join(dir, 'no-such-folder')).load!());
  });

  it('checks the weights checksum when one is given', async () => {
    const dir = await savedModelDir();
    const weights = await fs.readFile(path.join(dir, 'weights.bin'));
    const good = sha256Hex(weights);
    await expect(fileSystemHandler(dir, { expectedWeightsSha256: good }).load!()).resolves.toHaveProperty('weightData');
    await expectDamaged(fileSystemHandler(dir, { expectedWeightsSha256: '0'.repeat(64) }).load!(), 'checksum');

    // Same length, one flipped bit: only the checksum can notice.
    weights[weights.length - 1] ^= 1;
    await fs.writeFile(path.join(dir, 'weights.bin'), weights);
    await expect(fileSystemHandler(dir).load!()).resolves.toHaveProperty('weightData');
    await expectDamaged(fileSystemHandler(dir, { expectedWeightsSha256: good }).load!(), 'checksum');
  });

  it('leaves no tensors behind across repeated load and dispose', async () => {
    const dir = await savedModelDir();
    const input = tf.zeros([1, 8, 8, 3]);
    const loadAndPredict = async () => {
      const model = await tf.loadLayersModel(fileSystemHandler(dir));
      predictions(model, input);
      model.dispose();
    };
    await loadAndPredict();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await loadAndPredict();
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
  });
});
