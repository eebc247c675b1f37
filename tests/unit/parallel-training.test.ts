// Data-parallel training against the single-threaded path it must equal: the same batch
// gradient and Adam step, the same learning, cancellation, flat memory and no stray workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { batchArrays, batchTensors, loadImageFolder, subset, type LabelledImages } from '../../server/ml/dataset.js';
import { stratifiedSplit } from '../../server/ml/splits.js';
import { balancedClassWeights, batchLoss } from '../../server/ml/loss.js';
import { buildModel } from '../../server/ml/models/index.js';
import { createRng } from '../../server/ml/random.js';
import { trainModel, TrainingCancelledError } from '../../server/ml/train.js';
import { predictScores } from '../../server/ml/predict.js';
import { DataParallelEngine } from '../../server/ml/parallel/data-parallel-engine.js';
import { shardRanges } from '../../server/util/shard-ranges.js';
import { runningReplicaWorkers } from '../../server/ml/parallel/replica-handle.js';
import { FlatAdam } from '../../server/ml/parallel/flat-adam.js';
import { allocateSharedBuffers, flatLayout, optimizerViews, sharedWasmMemory } from '../../server/ml/parallel/shared-buffers.js';
import { STEP_BARRIER_SLOTS } from '../../server/ml/parallel/step-barrier.js';
import { startModuleWorker } from '../../server/util/module-worker.js';
import type { Worker } from 'node:worker_threads';
import { defaultTrainingParams, type TrainingParams } from '../../server/ml/types.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';

const SIZE = 32;
let toy: ToyDataset;
let train: LabelledImages;
let validation: LabelledImages;
let test: LabelledImages;

const params = (overrides: Partial<TrainingParams> = {}): TrainingParams => ({
  ...defaultTrainingParams,
  imageSize: SIZE,
  epochs: 6,
  batchSize: 16,
  seed: 7,
  ...overrides,
});

beforeAll(async () => {
  await initBackend({ preferred: 'wasm' });
  toy = await createToyDataset({ splits: { train: 40, test: 12 }, size: 48, seed: 3 });
  const all = await loadImageFolder(toy.splitDir('train'), { imageSize: SIZE });
  const split = stratifiedSplit(all.labels, 0.2, 1);
  train = subset(all, split.train);
  validation = subset(all, split.validation);
  test = await loadImageFolder(toy.splitDir('test'), { imageSize: SIZE });
});

afterAll(() => toy?.cleanup());

/** Largest difference relative to the largest reference value. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  return worst / scale;
}

/** Seeded values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: count }, () => rng.uniform(-1, 1));
}

function largest(values: Float32Array): number {
  return values.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
}

function flatten(tensors: tf.Tensor[]): Float32Array {
  const parts = tensors.map((t) => t.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('shardRanges', () => {
  it('splits a batch into contiguous shards whose sizes differ by at most one', () => {
    for (const [batch, replicas] of [[32, 2], [7, 3], [5, 4], [3, 3]] as const) {
      const shards = shardRanges(batch, replicas);
      expect(shards).toHaveLength(replicas);
      shards.forEach((s, k) => expect(s.start).toBe(k === 0 ? 0 : shards[k - 1]!.start + shards[k - 1]!.count));
      expect(shards.reduce((n, s) => n + s.count, 0)).toBe(batch);
      const counts = shards.map((s) => s.count);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });
});

describe('FlatAdam', () => {
  it('follows tf.train.adam step by step, on its range only', () => {
    const size = 1000;
    const initial = values(size, 1);
    const variable = tf.variable(tf.tensor1d(initial));
    const reference = tf.train.adam(0.01);
    const weights = Float32Array.from(initial);
    const summed = new Float32Array(size);
    const adam = new FlatAdam(100, 900, { learningRate: 0.01, epsilon: tf.backend().epsilon() });
    try {
      for (let step = 0; step < 4; step++) {
        // Two halves of a gradient, as two replicas would write them.
        const halves = [values(size, 10 + step), values(size, 20 + step)];
        const gradient = tf.tensor1d(halves[0]!.map((g, i) => Math.fround(g + halves[1]![i]!)));
        reference.applyGradients([{ name: variable.name, tensor: gradient }]);
        gradient.dispose();
        adam.step(weights, halves, summed);
      }
      const expected = variable.dataSync() as Float32Array;
      expect(relativeError(weights.subarray(100, 900), expected.subarray(100, 900))).toBeLessThan(1e-5);
      expect(Array.from(weights.subarray(0, 100))).toEqual(Array.from(initial.subarray(0, 100)));
      expect(Array.from(weights.subarray(900))).toEqual(Array.from(initial.subarray(900)));
    } finally {
      reference.dispose();
      variable.dispose();
    }
  });
});

describe('FlatAdam on a shared WebAssembly memory', () => {
  it.each([1, 2, 3])('runs its SIMD kernel in place and matches the JS loop, with %i gradient slots', (slots) => {
    // 1,003 weights, range [101, 902): neither end a multiple of 4; decay on in two runs.
    const size = 1003;
    const [from, to] = [101, 902];
    const memory = sharedWasmMemory(65536);
    const region = (k: number) => new Float32Array(memory.buffer, 4 * k * size, size);
    const [weights, summed, first, second] = [0, 1, 2, 3].map(region) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const gradients = Array.from({ length: slots }, (_, k) => region(4 + k));
    weights.set(values(size, 1));
    const decayMask = new Uint8Array(size);
    decayMask.fill(1, 50, 300);
    decayMask.fill(1, 700, 705);
    const settings = { learningRate: 0.01, epsilon: 1e-7, weightDecay: 0.1, decayMask };
    const simd = new FlatAdam(from, to, settings, { first: first.subarray(from, to), second: second.subarray(from, to) }, memory);
    const loop = new FlatAdam(from, to, settings);
    expect(simd.simd).toBe(true);
    const loopWeights = Float32Array.from(weights);
    const loopSummed = new Float32Array(size);
    for (let step = 0; step < 4; step++) {
      gradients.forEach((g, k) => g.set(values(size, 10 * step + k)));
      simd.step(weights, gradients, summed, 0.01 / (step + 1));
      loop.step(loopWeights, gradients.map((g) => Float32Array.from(g)), loopSummed, 0.01 / (step + 1));
      expect(relativeError(weights, loopWeights)).toBeLessThan(1e-6);
      expect(relativeError(summed.subarray(from, to), loopSummed.subarray(from, to))).toBeLessThan(1e-6);
    }
    // Outside its range nothing moved.
    const initial = values(size, 1);
    expect(Array.from(weights.subarray(0, from))).toEqual(Array.from(initial.subarray(0, from)));
    expect(Array.from(weights.subarray(to))).toEqual(Array.from(initial.subarray(to)));
    expect(Array.from(first.subarray(0, from)).every((m) => m === 0)).toBe(true);
  });

  it('gets arrays that each start on a 4 KiB page and do not overlap', () => {
    // 1,500 + 7 floats: not a whole page, so packed end to end the arrays would not be aligned.
    const trainable = flatLayout([[3, 500], [7]]);
    const buffers = allocateSharedBuffers({ maxBatch: 2, imageSize: 4, replicas: 3, trainable, statistics: flatLayout([]) });
    const { weights, summed, firstMoment, secondMoment, gradients } = optimizerViews(buffers, trainable);
    const arrays = [weights, summed, firstMoment, secondMoment, ...gradients];
    arrays.forEach((a) => {
      expect(a.length).toBe(1507);
      expect(a.byteOffset % 4096).toBe(0);
      expect(a.buffer).toBe(buffers.optimizer.buffer);
    });
    arrays.slice(1).forEach((a, k) => expect(a.byteOffset).toBeGreaterThanOrEqual(arrays[k]!.byteOffset + 4 * 1507));
    expect(arrays.at(-1)!.byteOffset + 4 * 1507).toBeLessThanOrEqual(buffers.optimizer.buffer.byteLength);
  });

  it('falls back to the JS loop for arrays outside its memory', () => {
    const memory = sharedWasmMemory(65536);
    const moments = { first: new Float32Array(memory.buffer, 0, 8), second: new Float32Array(memory.buffer, 32, 8) };
    const adam = new FlatAdam(0, 8, { learningRate: 0.1, epsilon: 1e-7 }, moments, memory);
    const weights = new Float32Array(8).fill(1);
    adam.step(weights, [new Float32Array(8).fill(0.5)], new Float32Array(8));
    // First Adam step: each weight moves by the learning rate against its gradient's sign.
    weights.forEach((w) => expect(w).toBeCloseTo(0.9, 5));
  });
});

describe('StepBarrier', () => {
  /** Runs `parties` worker threads that meet `rounds` times; `failAt[k]` is when party k arrives failed. */
  const meet = (parties: number, rounds: number, failAt: number[] = []) => {
    const barrier = new SharedArrayBuffer(4 * STEP_BARRIER_SLOTS);
    const arrivedAt = new SharedArrayBuffer(4 * parties);
    return Promise.all(
      Array.from({ length: parties }, (_, party) => {
        const worker = startModuleWorker(new URL('../fixtures/barrier-party.js', import.meta.url), {
          barrier,
          arrivedAt,
          party,
          parties,
          rounds,
          failAt: failAt[party] ?? -1,
        });
        return new Promise<{ overtaken: number; failedFrom: number }>((resolve, reject) => {
          worker.once('message', (result) => void worker.terminate().then(() => resolve(result)));
          worker.once('error', reject);
        });
      }),
    );
  };

  it('lets no party leave a meeting before all have arrived, meeting after meeting', async () => {
    const results = await meet(3, 2000);
    expect(results).toEqual([0, 1, 2].map(() => ({ overtaken: 0, failedFrom: -1 })));
  });

  it('tells every party, at the same meeting, that one arrived failed', async () => {
    const results = await meet(3, 500, [-1, 123, -1]);
    expect(results).toEqual([0, 1, 2].map(() => ({ overtaken: 0, failedFrom: 123 })));
  });
});

describe('DataParallelEngine', () => {
  it.each([2, 3])('computes the single-thread batch gradient and Adam steps on %i replicas', async (threads) => {
    const p = params({ batchSize: 13 });
    const classWeights = balancedClassWeights(train.labels);
    const rng = createRng(5);
    const batches = [0, 1].map((b) => batchArrays(train, Array.from({ length: p.batchSize }, (_, i) => b * p.batchSize + i), { augment: true, rng }));

    // Reference: this thread, with tf.train.adam.
    const reference = buildModel(p.architecture, { imageSize: SIZE, seed: p.seed });
    const variables = reference.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = tf.train.adam(p.learningRate);
    const model = buildModel(p.architecture, { imageSize: SIZE, seed: p.seed });
    // Plain Adam and hard targets on both sides: the reference below uses neither decay nor smoothing.
    const engine = await DataParallelEngine.start(model, { ...p, weightDecay: 0, labelSmoothing: 0, classWeights, maxBatch: p.batchSize, threads });
    const gradientOf = (x: tf.Tensor, y: tf.Tensor, batchSize: number) => {
      const { value, grads } = tf.variableGrads(() => batchLoss(y, reference.apply(x, { training: true }) as tf.Tensor, classWeights, batchSize), variables);
      return { loss: value, grads: variables.map((v) => grads[v.name]!) };
    };
    const atRoundingLevel = new Uint8Array(flatten(model.getWeights()).length);
    try {
      // Two steps: the second one also checks Adam's moments and bias correction.
      for (const [step, batch] of batches.entries()) {
        const { x, y } = batchTensors(batch);
        // The whole batch's gradient, and the same as the engine forms it: each replica's
        // shard (loss over the whole batch size) added in replica order. The second is what
        // the steps are compared with: Adam divides every gradient element by its own size, so
        // where it is ~0 float rounding decides a step of up to the learning rate either way,
        // and rounding differs with the order of summation (by 1e-9 of the largest element
        // with Winograd's filter gradient).
        const whole = gradientOf(x, y, batch.count);
        const shards = shardRanges(batch.count, threads)
          .filter((shard) => shard.count > 0)
          .map(({ start, count }) => tf.tidy(() => gradientOf(x.slice(start, count), y.slice(start, count), batch.count)));
        const summed = tf.tidy(() => variables.map((_, i) => shards.map((shard) => shard.grads[i]!).reduce((a, b) => tf.add(a, b))));
        const expectedLoss = shards.reduce((sum, shard) => sum + shard.loss.dataSync()[0]!, 0);
        const expectedGradient = flatten(summed);
        if (step === 0) expect(relativeError(expectedGradient, flatten(whole.grads))).toBeLessThan(1e-4);
        optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: summed[i]! })));

        const outcome = await engine.step(batch);
        // Step 0 starts from the same weights; after it, both sides' weights agree to float32
        // rounding (~1e-8, rounded differently: Adam runs in other kernels), which moves the loss by ~1e-5.
        expect(Math.abs(outcome.loss - expectedLoss) / expectedLoss).toBeLessThan(step === 0 ? 1e-5 : 1e-4);
        expect(relativeError(await engine.lastGradient(), expectedGradient)).toBeLessThan(1e-4);
        await engine.syncModel();
        // Where a gradient element is at rounding level (under 1e-7 of the largest, not 0), Adam's step
        // g / (|g| + epsilon) takes its sign and size from rounding, which the two sides do in
        // different kernels: those weights may differ by up to a learning rate per step; every
        // other weight agrees to float rounding.
        const roundingLevel = 1e-7 * largest(expectedGradient);
        expectedGradient.forEach((g, i) => {
          if (g !== 0 && Math.abs(g) < roundingLevel) atRoundingLevel[i] = 1;
        });
        const [actual, expected] = [flatten(model.getWeights()), flatten(reference.getWeights())];
        expect(relativeError(actual.filter((_, i) => !atRoundingLevel[i]), expected.filter((_, i) => !atRoundingLevel[i]))).toBeLessThan(1e-4);
        expect(largest(actual.map((w, i) => w - expected[i]!))).toBeLessThanOrEqual(2 * p.learningRate * (step + 1));
        // (About 2 % of the weights here.)
        expect(atRoundingLevel.reduce((n, flag) => n + flag, 0)).toBeLessThan(actual.length / 20);
        tf.dispose([x, y, whole.loss, ...whole.grads, ...summed, ...shards.flatMap((shard) => [shard.loss, ...shard.grads])]);
      }
    } finally {
      await engine.dispose();
      optimizer.dispose();
      reference.dispose();
      model.dispose();
    }
  });
});

describe('DataParallelEngine resources', () => {
  it('keeps every replica\'s tensors and WASM heap flat from step to step', async () => {
    const p = params();
    const classWeights = balancedClassWeights(train.labels);
    const model = buildModel(p.architecture, { imageSize: SIZE, seed: p.seed });
    const engine = await DataParallelEngine.start(model, { ...p, classWeights, maxBatch: p.batchSize, threads: 2 });
    const rng = createRng(1);
    const step = () => engine.step(batchArrays(train, Array.from({ length: p.batchSize }, (_, i) => i), { augment: true, rng }));
    try {
      await step();
      await step();
      const before = await engine.replicaMemory();
      for (let i = 0; i < 4; i++) await step();
      await engine.syncModel();
      expect(await engine.replicaMemory()).toEqual(before);
    } finally {
      await engine.dispose();
      model.dispose();
    }
  });

  it('rejects instead of hanging when a replica dies in a step, stops the one waiting for it and rejects later steps', async () => {
    const p = params();
    const model = buildModel(p.architecture, { imageSize: SIZE, seed: p.seed });
    const engine = await DataParallelEngine.start(model, { ...p, classWeights: { negative: 1, positive: 1 }, maxBatch: p.batchSize, threads: 2 });
    const batch = batchArrays(train, Array.from({ length: p.batchSize }, (_, i) => i), { augment: false });
    try {
      await engine.step(batch);
      // A crashed worker (as after running out of memory): the other replica computes its
      // gradient and then waits at the barrier for one that never arrives.
      const workers = (engine as unknown as { replicas: { worker: Worker }[] }).replicas.map((r) => r.worker);
      const step = engine.step(batch);
      await workers[1]!.terminate();
      await expect(step).rejects.toMatchObject({ code: 'TRAINING_REPLICA_FAILED' });
      // And asked again, it says so at once (vitest fails the run on an unhandled rejection).
      await expect(engine.step(batch)).rejects.toMatchObject({ code: 'TRAINING_REPLICA_FAILED' });
    } finally {
      await engine.dispose();
      model.dispose();
    }
    expect(runningReplicaWorkers()).toBe(0);
  });

  it('rejects instead of hanging when a replica cannot start, and stops the others', async () => {
    const p = params();
    // The coordinator's model is for 32 px images; replicas building 48 px ones disagree on the weights.
    const model = buildModel(p.architecture, { imageSize: SIZE, seed: p.seed });
    const start = DataParallelEngine.start(model, { ...p, imageSize: 48, classWeights: { negative: 1, positive: 1 }, maxBatch: p.batchSize, threads: 2 });
    await expect(start).rejects.toMatchObject({ code: 'TRAINING_REPLICA_FAILED' });
    model.dispose();
    expect(runningReplicaWorkers()).toBe(0);
  });
});

describe('trainModel on data-parallel replicas', () => {
  it('learns the toy lesions, reports every batch and epoch, leaks no tensors and stops its workers', async () => {
    const before = tf.memory().numTensors;
    const p = params();
    let batches = 0;
    const result = await trainModel({ train, validation }, p, { onBatchEnd: () => batches++ }, undefined, { threads: 2 });

    expect(result.threads).toBe(2);
    expect(result.history).toHaveLength(p.epochs);
    expect(batches).toBe(p.epochs * Math.ceil(train.count / p.batchSize));
    expect(result.history.at(-1)!.loss).toBeLessThan(result.history[0]!.loss);
    const scores = predictScores(result.model, test);
    const correct = scores.reduce((n, s, i) => n + ((s >= 0.5 ? 1 : 0) === test.labels[i] ? 1 : 0), 0);
    expect(correct / test.count).toBeGreaterThanOrEqual(0.9);

    result.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(runningReplicaWorkers()).toBe(0);
  });

  it('is reproducible for a seed and follows the single-thread run', async () => {
    const run = async (threads: number) => {
      const r = await trainModel({ train, validation }, params({ epochs: 2 }), {}, undefined, { threads });
      r.model.dispose();
      return r.history.map((h) => h.loss);
    };
    const parallel = await run(2);
    expect(await run(2)).toEqual(parallel);
    const single = await run(1);
    single.forEach((loss, i) => expect(Math.abs(parallel[i]! - loss) / loss).toBeLessThan(1e-3));
  });

  it('cancels between batches, frees everything and stops its workers', async () => {
    const before = tf.memory().numTensors;
    const abort = new AbortController();
    let seen = 0;
    const run = trainModel(
      { train, validation },
      params({ epochs: 5 }),
      {
        onBatchEnd: () => {
          if (++seen === 2) abort.abort();
        },
      },
      abort.signal,
      { threads: 2 },
    );
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(seen).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
    expect(runningReplicaWorkers()).toBe(0);
  });
});
