// Training an ensemble on real tfjs: members from consecutive seeds on the same images, progress
// numbered as one run, a model scoring the mean of the members' logits, nothing leaked; one
// member is exactly the plain run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { loadImageFolder, subset, type LabelledImages } from '../../server/ml/dataset.js';
import { stratifiedSplit } from '../../server/ml/splits.js';
import { trainModel, type BatchProgress, type EpochProgress } from '../../server/ml/train.js';
import { describeWeights, trainEnsemble } from '../../server/ml/train-ensemble.js';
import { predictScores } from '../../server/ml/predict.js';
import { defaultTrainingParams, type TrainingParams } from '../../server/ml/types.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';

const SIZE = 32;
let toy: ToyDataset;
let train: LabelledImages;
let validation: LabelledImages;

const params = (overrides: Partial<TrainingParams> = {}): TrainingParams => ({
  ...defaultTrainingParams,
  imageSize: SIZE,
  epochs: 2,
  batchSize: 16,
  seed: 7,
  ...overrides,
});

const logit = (p: number) => Math.log(p / (1 - p));

beforeAll(async () => {
  await initBackend();
  toy = await createToyDataset({ splits: { train: 40 }, size: 48, seed: 5 });
  const all = await loadImageFolder(toy.splitDir('train'), { imageSize: SIZE });
  const split = stratifiedSplit(all.labels, 0.25, 1);
  train = subset(all, split.train);
  validation = subset(all, split.validation);
});

afterAll(() => toy?.cleanup());

describe('trainEnsemble', () => {
  it('trains members from consecutive seeds, numbers their progress as one run, and averages their logits', async () => {
    const before = tf.memory().numTensors;
    const batches: BatchProgress[] = [];
    const epochs: EpochProgress[] = [];
    const result = await trainEnsemble({ train, validation }, params({ ensembleMembers: 3 }), { onBatchEnd: (b) => batches.push(b), onEpochEnd: (e) => epochs.push(e) }, undefined, { keepMembers: true });
    const members = result.memberModels!;
    try {
      expect(result.members.map((m) => m.seed)).toEqual([7, 8, 9]);
      expect(epochs.map((e) => `${e.epoch}/${e.epochs}`)).toEqual(['1/6', '2/6', '3/6', '4/6', '5/6', '6/6']);
      expect(result.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
      const perEpoch = Math.ceil(train.count / 16);
      expect(batches).toHaveLength(3 * 2 * perEpoch);
      // The estimate of time left counts the members still to come: it falls to 0 at the very end only.
      expect(batches[perEpoch * 2 - 1]!.etaSeconds).toBeGreaterThan(0);
      expect(batches.at(-1)!.etaSeconds).toBe(0);
      expect(describeWeights(result)).toMatch(/^mean of 3 members' logits: seed 7 epoch [12] of 2 \(validation AUC [\d.]+\); seed 8 .*; seed 9 /);

      const memberScores = members.map((m) => predictScores(m, validation));
      // Different seeds, different networks.
      expect(memberScores[0]).not.toEqual(memberScores[1]);
      const scores = predictScores(result.model, validation);
      for (let i = 0; i < validation.count; i++) {
        const mean = memberScores.reduce((sum, s) => sum + logit(s[i]!), 0) / 3;
        expect(scores[i]).toBeCloseTo(1 / (1 + Math.exp(-mean)), 4);
      }
    } finally {
      result.model.dispose();
      members.forEach((m) => m.dispose());
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with one member is the plain training run', async () => {
    const plain = await trainModel({ train, validation }, params());
    const one = await trainEnsemble({ train, validation }, params({ ensembleMembers: 1 }), {}, undefined, { keepMembers: true });
    try {
      expect(one.memberModels).toBeUndefined();
      expect(one.members).toHaveLength(1);
      expect(describeWeights(one)).toMatch(/^epoch [12] of 2$/);
      const a = plain.model.getWeights().map((w) => Array.from(w.dataSync()));
      const b = one.model.getWeights().map((w) => Array.from(w.dataSync()));
      expect(b).toEqual(a);
    } finally {
      plain.model.dispose();
      one.model.dispose();
    }
  });

  it('leaves nothing behind when cancelled in a later member', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const run = trainEnsemble({ train, validation }, params({ ensembleMembers: 2 }), { onEpochEnd: (e) => e.epoch === 3 && controller.abort() }, controller.signal);
    await expect(run).rejects.toMatchObject({ code: 'TRAINING_CANCELLED' });
    expect(tf.memory().numTensors).toBe(before);
  });
});
