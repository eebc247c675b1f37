import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { defaultTrainingParams, type ModelMetadata } from '../../server/ml/types.js';
import { ModelRegistry, RegistryError } from '../../server/registry/model-registry.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function smallConvModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  return model;
}

function newMetadata(threshold = 0.37): Omit<ModelMetadata, 'version' | 'createdAt'> {
  return {
    format: 'skin-cancer-detection/model@1',
    architecture: 'tiny-test-cnn',
    imageSize: 8,
    classNames: ['benign', 'malignant'],
    positiveClass: 'malignant',
    threshold,
    metrics: {},
    trainingParams: { ...defaultTrainingParams, imageSize: 8 },
    backend: 'wasm',
    trainingSeconds: 1.5,
    epochsCompleted: 2,
  };
}

function predictions(model: tf.LayersModel, input: tf.Tensor): number[] {
  return Array.from(tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync()));
}

async function expectRegistryError(promise: Promise<unknown>, code: string): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).code).toBe(code);
  return error as RegistryError;
}

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'registry-test-'));
  roots.push(dir);
  return path.join(dir, 'models');
}

/** A registry holding `count` versions of fresh random models (v1..v<count>). */
async function registryWith(count: number): Promise<{ registry: ModelRegistry; root: string }> {
  const root = await tempRoot();
  const registry = await ModelRegistry.open(root);
  const model = smallConvModel();
  for (let i = 0; i < count; i++) await registry.save(model, newMetadata());
  model.dispose();
  return { registry, root };
}

beforeAll(async () => {
  await initBackend();
});

afterEach(async () => {
  await Promise.all(roots.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe('ModelRegistry save, list and load', () => {
  it('round-trips a model with identical predictions and the given metadata', async () => {
    const root = await tempRoot();
    const registry = await ModelRegistry.open(root);
    const model = smallConvModel();
    const input = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3);
    const before = Date.now();

    const saved = await registry.save(model, newMetadata(0.42));
    expect(saved.version).toBe('v1');
    expect(Date.parse(saved.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(saved).toMatchObject({ ...newMetadata(0.42), version: 'v1' });
    expect((await fs.readdir(path.join(root, 'v1'))).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    expect(JSON.parse(await fs.readFile(path.join(root, 'v1', 'metadata.json'), 'utf8')).weightsSha256).toMatch(/^[0-9a-f]{64}$/);

    const listing = await registry.list();
    expect(listing).toEqual({ versions: [saved], damaged: [], active: null });

    const loaded = await registry.load('v1');
    expect(loaded.metadata).toEqual(saved);
    expect(predictions(loaded.model, input)).toEqual(predictions(model, input));

    loaded.model.dispose();
    model.dispose();
    input.dispose();
  });

  it('numbers versions after the highest existing one and accepts any folder name', async () => {
    const { registry, root } = await registryWith(2);
    // A shipped model under a free-form name is a version like any other.
    await fs.cp(path.join(root, 'v1'), path.join(root, 'default'), { recursive: true });
    const shippedMetadata = path.join(root, 'default', 'metadata.json');
    const shipped = JSON.parse(await fs.readFile(shippedMetadata, 'utf8'));
    await fs.writeFile(shippedMetadata, JSON.stringify({ ...shipped, version: 'v1', createdAt: '2020-01-01T00:00:00.000Z' }));
    await fs.mkdir(path.join(root, 'v9')); // an empty (damaged) folder still reserves its number

    const model = smallConvModel();
    expect((await registry.save(model, newMetadata())).version).toBe('v10');
    model.dispose();

    const listing = await registry.list();
    expect(listing.versions.map((v) => v.version)).toEqual(['default', 'v1', 'v2', 'v10']) // oldest first;
    expect(listing.damaged).toEqual([{ version: 'v9', reason: expect.stringContaining('metadata.json') }]);
    const loaded = await registry.load('default');
    // The folder name is the version, whatever the copied metadata said.
    expect(loaded.metadata.version).toBe('default');
    loaded.model.dispose();
  });

  it('gives concurrent saves distinct, intact versions', async () => {
    const root = await tempRoot();
    const first = new ModelRegistry(root);
    const second = new ModelRegistry(root); // a second object on the same folder shares the queue
    const model = smallConvModel();
    const saved = await Promise.all([first, second, first, second, first].map((r) => r.save(model, newMetadata())));
    model.dispose();
    expect(saved.map((m) => m.version).sort()).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
    const listing = await first.list();
    expect(listing.versions).toHaveLength(5);
    expect(listing.damaged).toEqual([]);
    expect((await fs.readdir(root)).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('reports unknown or unsafe version names as not found', async () => {
    const { registry } = await registryWith(1);
    await expectRegistryError(registry.load('v2'), 'MODEL_NOT_FOUND');
    await expectRegistryError(registry.load('../models'), 'MODEL_NOT_FOUND');
    await expectRegistryError(registry.load('.hidden'), 'MODEL_NOT_FOUND');
  });

  it('works on a root folder that does not exist yet', async () => {
    const registry = new ModelRegistry(path.join(await tempRoot(), 'nested'));
    expect(await registry.list()).toEqual({ versions: [], damaged: [], active: null });
    expect(await registry.activeVersion()).toBeNull();
  });
});

describe('ModelRegistry active version', () => {
  it('promotes, remembers history and rolls back in order', async () => {
    const { registry, root } = await registryWith(3);
    expect(await registry.activeVersion()).toBeNull();
    await registry.promote('v1');
    await registry.promote('v2');
    await registry.promote('v3');
    await registry.promote('v3'); // no-op: already active
    expect(await registry.activeVersion()).toBe('v3');
    expect(JSON.parse(await fs.readFile(path.join(root, 'active.json'), 'utf8'))).toEqual({ version: 'v3', previous: ['v1', 'v2'] });
    expect((await registry.list()).active).toBe('v3');

    expect(await registry.rollback()).toBe('v2');
    expect(await registry.rollback()).toBe('v1');
    expect(await registry.activeVersion()).toBe('v1');
    await expectRegistryError(registry.rollback(), 'NO_ROLLBACK_TARGET');
    expect(await registry.activeVersion()).toBe('v1');

    // Promoting a version already in the history moves it rather than duplicating it.
    await registry.promote('v2');
    await registry.promote('v1');
    expect(JSON.parse(await fs.readFile(path.join(root, 'active.json'), 'utf8'))).toEqual({ version: 'v1', previous: ['v2'] });
  });

  it('rolls back past versions that were damaged or deleted since', async () => {
    const { registry, root } = await registryWith(4);
    for (const v of ['v1', 'v2', 'v3', 'v4']) await registry.promote(v);
    await fs.writeFile(path.join(root, 'v3', 'metadata.json'), '{ not json');
    await fs.rm(path.join(root, 'v2'), { recursive: true });
    expect(await registry.rollback()).toBe('v1');
    await expectRegistryError(registry.rollback(), 'NO_ROLLBACK_TARGET');
  });

  it('refuses to promote missing or damaged versions', async () => {
    const { registry, root } = await registryWith(2);
    await registry.promote('v1');
    await expectRegistryError(registry.promote('v7'), 'MODEL_NOT_FOUND');
    const weights = path.join(root, 'v2', 'weights.bin');
    await fs.truncate(weights, 10);
    await expectRegistryError(registry.promote('v2'), 'DAMAGED_MODEL');
    expect(await registry.activeVersion()).toBe('v1');
  });

  it('deletes versions atomically but never the active one', async () => {
    const { registry, root } = await registryWith(3);
    await registry.promote('v1');
    await registry.promote('v2');
    await registry.promote('v3');

    await expectRegistryError(registry.delete('v3'), 'MODEL_ACTIVE');
    await expectRegistryError(registry.delete('v8'), 'MODEL_NOT_FOUND');
    await expectRegistryError(registry.delete('..'), 'MODEL_NOT_FOUND');

    await registry.delete('v2');
    expect((await fs.readdir(root)).sort()).toEqual(['active.json', 'v1', 'v3']);
    expect(JSON.parse(await fs.readFile(path.join(root, 'active.json'), 'utf8'))).toEqual({ version: 'v3', previous: ['v1'] });
    expect((await registry.list()).versions.map((v) => v.version)).toEqual(['v1', 'v3']);
    expect(await registry.rollback()).toBe('v1');
    await registry.delete('v3');
    expect((await registry.list()).versions.map((v) => v.version)).toEqual(['v1']);
  });

  it('reports an active.json that points at a deleted, damaged or unreadable version', async () => {
    const { registry, root } = await registryWith(2);
    await registry.promote('v2');
    await fs.rm(path.join(root, 'v2'), { recursive: true });
    expect(await registry.activeVersion()).toBeNull();
    let listing = await registry.list();
    expect(listing.active).toBeNull();
    expect(listing.activeProblem).toBe('active version v2 does not exist');
    expect(listing.versions.map((v) => v.version)).toEqual(['v1']);

    // The service can recover by promoting what is intact.
    await registry.promote('v1');
    expect(await registry.activeVersion()).toBe('v1');

    await fs.truncate(path.join(root, 'v1', 'weights.bin'), 3);
    listing = await registry.list();
    expect(listing.active).toBeNull();
    expect(listing.activeProblem).toMatch(/^active version v1 is damaged: weights hold 3 bytes/);

    await fs.writeFile(path.join(root, 'active.json'), '{"version": 12');
    listing = await registry.list();
    expect(listing.active).toBeNull();
    expect(listing.activeProblem).toBe('active.json is malformed');
  });
});

describe('ModelRegistry damage and crash leftovers', () => {
  it('lists damaged versions with a reason while the intact ones still load', async () => {
    const { registry, root } = await registryWith(6);
    const v = (name: string, file: string) => path.join(root, name, file);
    const weightsSize = (await fs.stat(v('v1', 'weights.bin'))).size;
    await fs.truncate(v('v1', 'weights.bin'), weightsSize - 4);
    await fs.writeFile(v('v2', 'metadata.json'), '{"format": "skin-cancer-detection/model@1", "vers');
    await fs.rm(v('v3', 'model.json'));
    const flipped = await fs.readFile(v('v4', 'weights.bin'));
    flipped[0] ^= 0xff;
    await fs.writeFile(v('v4', 'weights.bin'), flipped);
    // Files that read back consistently but whose topology builds no model.
    const modelJson = JSON.parse(await fs.readFile(v('v5', 'model.json'), 'utf8'));
    modelJson.modelTopology = { class_name: 'NoSuchModel', config: {} };
    await fs.writeFile(v('v5', 'model.json'), JSON.stringify(modelJson));

    const listing = await registry.list();
    expect(listing.versions.map((m) => m.version)).toEqual(['v5', 'v6']);
    const reasons = Object.fromEntries(listing.damaged.map((d) => [d.version, d.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['v1', 'v2', 'v3', 'v4']);
    expect(reasons.v1).toContain(`weights hold ${weightsSize - 4} bytes`);
    expect(reasons.v2).toContain('metadata.json is not valid JSON');
    expect(reasons.v3).toContain('model.json');
    expect(reasons.v4).toContain('checksum');

    for (const damaged of ['v1', 'v2', 'v3', 'v4', 'v5']) {
      await expectRegistryError(registry.load(damaged), 'DAMAGED_MODEL');
    }
    const intact = await registry.load('v6');
    expect(intact.metadata.version).toBe('v6');
    intact.model.dispose();

    // Damaged versions can be cleaned away.
    await registry.delete('v1');
    expect((await registry.list()).damaged.map((d) => d.version).sort()).toEqual(['v2', 'v3', 'v4']);
  });

  it('ignores a half-written temp folder and removes it once stale', async () => {
    const { registry, root } = await registryWith(1);
    await registry.promote('v1');
    // What a crash in the middle of save() leaves behind.
    for (const name of ['.tmp-crashed', '.tmp-in-progress']) {
      await fs.mkdir(path.join(root, name));
      await fs.copyFile(path.join(root, 'v1', 'model.json'), path.join(root, name, 'model.json'));
      await fs.writeFile(path.join(root, name, 'weights.bin'), Buffer.alloc(7));
    }
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await fs.utimes(path.join(root, '.tmp-crashed'), anHourAgo, anHourAgo);

    const listing = await registry.list();
    expect(listing).toMatchObject({ damaged: [], active: 'v1' });
    expect(listing.versions.map((m) => m.version)).toEqual(['v1']);
    // The stale one is gone; a fresh one may belong to a save still running elsewhere.
    expect((await fs.readdir(root)).sort()).toEqual(['.tmp-in-progress', 'active.json', 'v1']);

    const model = smallConvModel();
    expect((await registry.save(model, newMetadata())).version).toBe('v2');
    model.dispose();
    await ModelRegistry.open(root, { staleTempMs: 0 });
    expect((await fs.readdir(root)).sort()).toEqual(['active.json', 'v1', 'v2']);
    expect(await registry.activeVersion()).toBe('v1');
  });

  it('never shows a half-written version when the saving process is killed', async () => {
    const root = await tempRoot();
    const script = path.join(path.dirname(root), 'save-forever.mts');
    const url = (file: string) => JSON.stringify(new URL(file, `file://${repoRoot}/`).href);
    await fs.writeFile(
      script,
      `import { tf } from ${url('server/ml/tf.ts')};
import { ModelRegistry } from ${url('server/registry/model-registry.ts')};
import { defaultTrainingParams } from ${url('server/ml/types.ts')};
await tf.setBackend('cpu');
const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [512], units: 512 })] }); // ~1 MB of weights
const registry = new ModelRegistry(process.argv[2]);
for (;;) {
  const saved = await registry.save(model, ${JSON.stringify({ ...newMetadata(), backend: 'cpu' })});
  process.stdout.write('saved ' + saved.version + '\\n');
}
`,
    );

    for (const delayMs of [0, 7, 23]) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, root], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      await new Promise<void>((resolve, reject) => {
        let saves = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          saves += chunk.toString().split('\n').filter((line) => line.startsWith('saved')).length;
          if (saves >= 2) setTimeout(resolve, delayMs);
        });
        child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }

    const listing = await new ModelRegistry(root).list();
    expect(listing.damaged).toEqual([]);
    const totalSaved = listing.versions.length;
    expect(totalSaved).toBeGreaterThanOrEqual(6);
    // Numbers are contiguous: every rename that happened produced a complete version.
    expect(listing.versions.map((m) => m.version)).toEqual(Array.from({ length: totalSaved }, (_, i) => `v${i + 1}`));
    const last = await new ModelRegistry(root).load(`v${totalSaved}`);
    expect(last.model.countParams()).toBe(512 * 512 + 512);
    last.model.dispose();
  }, 60_000);
});

describe('ModelRegistry memory', () => {
  it('leaves no tensors behind across repeated load and dispose', async () => {
    const { registry } = await registryWith(1);
    const input = tf.zeros([1, 8, 8, 3]);
    const loadPredictDispose = async () => {
      const { model } = await registry.load('v1');
      predictions(model, input);
      model.dispose();
    };
    await loadPredictDispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await loadPredictDispose();
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
  });
});
