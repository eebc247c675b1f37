// An ensemble is one ordinary model: its probability is sigmoid(mean of the members' logits) for
// every registered architecture, it saves and loads like any model, and it leaves no tensors.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { architectureNames, buildModel } from '../../server/ml/models/index.js';
import { combineMembers } from '../../server/ml/ensemble.js';
import { embeddingModel, outputLayer } from '../../server/ml/model-anatomy.js';
import { fileSystemHandler } from '../../server/ml/model-io.js';

const SIZE = 32;
const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function predict(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

/** Nudges the output bias so members disagree visibly (fresh heads sit near p = 0.5). */
function shiftBias(model: tf.LayersModel, by: number): void {
  const head = outputLayer(model);
  const [kernel, bias] = head.getWeights();
  const shifted = tf.add(bias!, by);
  head.setWeights([kernel!, shifted]);
  shifted.dispose();
}

let x: tf.Tensor4D;
let dir: string;

beforeAll(async () => {
  await initBackend();
  x = tf.randomUniform([4, SIZE, SIZE, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ensemble-test-'));
});

afterAll(async () => {
  x.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('combineMembers', () => {
  it.each(architectureNames())('%s: the mean of the members\' logits, and the members\' embeddings side by side', (name) => {
    const members = [1, 2, 3].map((seed, i) => {
      const model = buildModel(name, { imageSize: SIZE, seed });
      shiftBias(model, i - 1);
      return model;
    });
    const before = tf.memory().numTensors;
    const ensemble = combineMembers(members);
    const memberScores = members.map((m) => predict(m, x));
    const scores = predict(ensemble, x);
    for (let i = 0; i < 4; i++) {
      const expected = sigmoid(memberScores.reduce((sum, s) => sum + logit(s[i]!), 0) / members.length);
      expect(scores[i]).toBeCloseTo(expected, 5);
    }
    // The input guard and the explanations see one embedding: the members' ones joined.
    const dims = members.map((m) => (embeddingModel(m).outputs[0]!.shape.at(-1) as number));
    expect(embeddingModel(ensemble).outputs[0]!.shape.at(-1)).toBe(dims.reduce((a, b) => a + b, 0));
    // The ensemble owns copies: its members can go.
    members.forEach((m) => m.dispose());
    expect(predict(ensemble, x)).toEqual(scores);
    ensemble.dispose();
    expect(tf.memory().numTensors).toBe(before - members.reduce((n, m) => n + m.weights.length, 0));
  });

  it('saves and loads like any model, with the same scores', async () => {
    const members = [5, 6].map((seed) => buildModel('original-cnn', { imageSize: SIZE, seed }));
    shiftBias(members[0]!, 1.5);
    const ensemble = combineMembers(members);
    members.forEach((m) => m.dispose());
    await ensemble.save(fileSystemHandler(dir));
    const loaded = await tf.loadLayersModel(fileSystemHandler(dir));
    expect(predict(loaded, x)).toEqual(predict(ensemble, x));
    expect(new Set(loaded.weights.map((w) => w.originalName)).size).toBe(loaded.weights.length);
    ensemble.dispose();
    loaded.dispose();
  });

  it('one member is that member', () => {
    const member = buildModel('original-cnn', { imageSize: SIZE, seed: 9 });
    shiftBias(member, -0.7);
    const ensemble = combineMembers([member]);
    const a = predict(member, x);
    const b = predict(ensemble, x);
    for (let i = 0; i < 4; i++) expect(b[i]).toBeCloseTo(a[i]!, 6);
    member.dispose();
    ensemble.dispose();
  });

  it('refuses members that do not fit together', () => {
    const small = buildModel('original-cnn', { imageSize: SIZE, seed: 1 });
    const large = buildModel('original-cnn', { imageSize: SIZE * 2, seed: 1 });
    expect(() => combineMembers([small, large])).toThrow(/same input shape/);
    expect(() => combineMembers([])).toThrow(RangeError);
    small.dispose();
    large.dispose();
  });
});
