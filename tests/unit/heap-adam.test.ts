// The single-thread engine's Adam(W) on the WASM heap against tf.train.adam, and its new weights
// seen by the operators WASM caches per weight tensor.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { HeapAdam } from '../../server/ml/heap-adam.js';
import { buildModel } from '../../server/ml/models/index.js';
import { createRng } from '../../server/ml/random.js';

beforeAll(async () => {
  await initBackend({ preferred: 'wasm', threads: 1 });
});

const randomTensor = (shape: number[], seed: number) => {
  const rng = createRng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape);
};

function largestDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]!);
}

describe('HeapAdam', () => {
  it('takes tf.train.adam\'s steps, with decoupled weight decay on the variables marked', () => {
    // 1,001 and 7 values: counts that are not multiples of 4.
    const shapes = [[7, 11, 13], [7]];
    const ours = shapes.map((shape, i) => tf.variable(randomTensor(shape, i + 1)));
    const reference = shapes.map((shape, i) => tf.variable(randomTensor(shape, i + 1)));
    const decayed = [true, false];
    const adam = HeapAdam.forCurrentBackend(ours, decayed, 0.1)!;
    expect(adam).toBeDefined();
    const optimizer = tf.train.adam(0.01);
    let afterFirstStep = 0;
    try {
      for (let step = 0; step < 5; step++) {
        const rate = 0.01 / (step + 1);
        const grads = shapes.map((shape, i) => randomTensor(shape, 100 * step + i));
        adam.apply(Object.fromEntries(ours.map((v, i) => [v.name, grads[i]!])), rate);
        tf.tidy(() => reference.forEach((v, i) => decayed[i] && v.assign(v.mul(1 - rate * 0.1))));
        (optimizer as unknown as { learningRate: number }).learningRate = rate;
        optimizer.applyGradients(reference.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
        tf.dispose(grads);
        if (step === 0) afterFirstStep = tf.memory().numTensors; // tf.train.adam's state now made
      }
      ours.forEach((v, i) => expect(largestDifference(v, reference[i]!)).toBeLessThan(1e-6));
      // Each step moved the weights (by ~the learning rate), so the comparison above means something.
      const initial = randomTensor(shapes[0]!, 1);
      expect(largestDifference(ours[0]!, initial)).toBeGreaterThan(0.005);
      initial.dispose();
      expect(tf.memory().numTensors).toBe(afterFirstStep);
    } finally {
      adam.dispose();
      optimizer.dispose();
      tf.dispose([...ours, ...reference]);
    }
  });

  it('gives the model new weight tensors, so operators cached with the old weights packed are not reused', () => {
    // The first convolution (3 input channels) and the dense layers run on XNNPACK, which caches
    // each operator with its weights packed, keyed by the weight tensor.
    const model = buildModel('original-cnn', { imageSize: 24, seed: 3 });
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const adam = HeapAdam.forCurrentBackend(variables, variables.map(() => false), 0)!;
    const x = randomTensor([2, 24, 24, 3], 9);
    try {
      (model.predict(x) as tf.Tensor).dispose(); // operators built and cached for the first weights
      const grads = Object.fromEntries(variables.map((v, i) => [v.name, tf.onesLike(v).mul(i % 2 ? 1 : -1)]));
      adam.apply(grads, 0.05);
      tf.dispose(Object.values(grads));
      const afterStep = model.predict(x) as tf.Tensor;
      // The same weights copied into new tensors (no operator cached for them; setWeights with
      // the variables themselves would share their tensors).
      const fresh = buildModel('original-cnn', { imageSize: 24, seed: 4 });
      const copies = variables.map((v) => tf.add(v, 0));
      fresh.setWeights(copies);
      tf.dispose(copies);
      const expected = fresh.predict(x) as tf.Tensor;
      expect(largestDifference(afterStep, expected)).toBeLessThan(1e-5);
      tf.dispose([afterStep, expected]);
      fresh.dispose();
    } finally {
      adam.dispose();
      x.dispose();
      model.dispose();
    }
  });
});
