import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { buildModel } from '../../server/ml/models/index.js';
import { predictViews, testTimeViews, viewOf } from '../../server/ml/tta.js';
import { calibrate } from '../../server/ml/calibration.js';
import { Classifier } from '../../server/ml/classifier.js';
import type { ModelMetadata } from '../../server/ml/types.js';
import { noisePixels } from '../helpers/images.js';

const N = 3;
// A 3x3 single-channel image with distinct values, as [1, 3, 3, 1].
const grid = [
  [1, 2, 3],
  [4, 5, 6],
  [7, 8, 9],
];
/** Where each view takes output (y, x) from, written out as the textbook maps. */
const reference: Record<string, (y: number, x: number) => [number, number]> = {
  identity: (y, x) => [y, x],
  'flip-left-right': (y, x) => [y, N - 1 - x],
  'flip-up-down': (y, x) => [N - 1 - y, x],
  'rotate-180': (y, x) => [N - 1 - y, N - 1 - x],
  transpose: (y, x) => [x, y],
  'rotate-90': (y, x) => [x, N - 1 - y],
  'rotate-270': (y, x) => [N - 1 - x, y],
  'anti-transpose': (y, x) => [N - 1 - x, N - 1 - y],
};

beforeAll(async () => {
  await initBackend({ preferred: 'wasm', threads: 2 });
});

describe('viewOf', () => {
  it('produces the eight symmetries of the square, each once', () => {
    const x = tf.tensor4d(grid.flat(), [1, N, N, 1]);
    const seen = new Set<string>();
    for (const view of testTimeViews) {
      const out = tf.tidy(() => Array.from(viewOf(x, view).dataSync()));
      const expected = Array.from({ length: N * N }, (_, k) => {
        const [sy, sx] = reference[view]!(Math.floor(k / N), k % N);
        return grid[sy]![sx]!;
      });
      expect(out, view).toEqual(expected);
      seen.add(out.join(','));
    }
    expect(seen.size).toBe(8);
    x.dispose();
  });
});

describe('predictViews', () => {
  it('returns one probability per image and view, their mean, and leaks no tensor', () => {
    const model = buildModel('original-cnn', { imageSize: 16, seed: 3 });
    const x = tf.tensor4d(Float32Array.from(noisePixels(16, 16 * 4, 2), (v) => v / 255), [4, 16, 16, 3]);
    const before = tf.memory().numTensors;
    const { mean, views } = predictViews(model, x);
    expect(tf.memory().numTensors).toBe(before);
    expect(views).toHaveLength(8);
    for (const view of views) expect(view).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(mean[i]).toBeCloseTo(views.reduce((s, v) => s + v[i]!, 0) / 8, 6);
    // The identity view is the plain forward pass; another view of a noise image differs from it.
    const plain = tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
    expect(Array.from(views[0]!)).toEqual(plain.map(Math.fround));
    expect(Array.from(views[1]!)).not.toEqual(Array.from(views[0]!));

    const calibrated = predictViews(model, x, { views: ['identity', 'rotate-90'], temperature: 2 });
    expect(calibrated.views).toHaveLength(2);
    expect(calibrated.views[0]![0]).toBeCloseTo(calibrate(views[0]![0]!, 2), 6);
    expect(calibrated.views[1]![0]).toBeCloseTo(calibrate(views[4]![0]!, 2), 6);
    tf.dispose(x);
    model.dispose();
  });

  it('gives every view the same score on an image that all eight symmetries leave unchanged', () => {
    const model = buildModel('resnet-small', { imageSize: 32, seed: 3 });
    const values = Array.from({ length: 32 * 32 * 3 }, (_, k) => {
      const p = Math.floor(k / 3);
      const dy = Math.floor(p / 32) - 15.5;
      const dx = (p % 32) - 15.5;
      return Math.exp(-(dx * dx + dy * dy) / 80);
    });
    const x = tf.tensor4d(values, [1, 32, 32, 3]);
    const { views } = predictViews(model, x);
    for (const view of views) expect(view[0]).toBeCloseTo(views[0]![0]!, 5);
    tf.dispose(x);
    model.dispose();
  });
});

describe('Classifier scoring', () => {
  it('applies the stored temperature and test-time views to every prediction', () => {
    const model = buildModel('original-cnn', { imageSize: 16, seed: 5 });
    const base = { version: 'x', imageSize: 16, threshold: 0.5, classNames: ['benign', 'malignant'], positiveClass: 'malignant' } as ModelMetadata;
    const pixels = [noisePixels(16, 16, 1), noisePixels(16, 16, 2)];
    const plain = new Classifier(model, base).predictPixels(pixels);
    const scaled = new Classifier(model, { ...base, temperature: 3 }).predictPixels(pixels);
    plain.forEach((p, i) => expect(scaled[i]).toBeCloseTo(calibrate(p, 3), 6));

    const withViews = new Classifier(model, { ...base, temperature: 3, testTimeViews: [...testTimeViews] });
    expect(withViews.views).toHaveLength(8);
    const x = tf.tensor4d(Float32Array.from([...pixels[0]!, ...pixels[1]!], (v) => v / 255), [2, 16, 16, 3]);
    const expected = predictViews(model, x, { temperature: 3 }).mean;
    x.dispose();
    const actual = withViews.predictPixels(pixels);
    actual.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 6));
    // Unknown view names in old or foreign metadata fall back to the plain image.
    expect(new Classifier(model, { ...base, testTimeViews: ['sideways'] }).views).toEqual(['identity']);
    model.dispose();
  });
});
