// Grad-CAM on real tfjs: maps are finite and normalised for every registered architecture, leave
// no tensors behind, and on a network trained where a bright square alone decides the class the
// map points at the square.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { architectureNames, buildModel } from '../../server/ml/models/index.js';
import { gradCam } from '../../server/ml/explain/grad-cam.js';
import { lastConvolutionalBlock, lastConvolutionalBlocks, outputLayer } from '../../server/ml/model-anatomy.js';
import { combineMembers } from '../../server/ml/ensemble.js';
import { createRng, type Rng } from '../../server/ml/random.js';

const SIZE = 32;
const SQUARE = 6;

interface SquareImage {
  pixels: Float32Array;
  /** Top-left corner of the bright square, or null when the image has none (class 0). */
  square: { x: number; y: number } | null;
}

/**
 * Mottled grey texture with a dark square somewhere in every image (so "there is a square" decides
 * nothing); class 1 also has a bright square at a random place. Only that square decides the class.
 */
function squareImage(rng: Rng, positive: boolean): SquareImage {
  const pixels = Float32Array.from({ length: SIZE * SIZE * 3 }, () => 0.35 + 0.2 * rng.next());
  const paint = (x0: number, y0: number, value: number) => {
    for (let y = y0; y < y0 + SQUARE; y++) for (let x = x0; x < x0 + SQUARE; x++) for (let c = 0; c < 3; c++) pixels[(y * SIZE + x) * 3 + c] = value;
  };
  const place = () => ({ x: rng.int(SIZE - SQUARE), y: rng.int(SIZE - SQUARE) });
  const dark = place();
  paint(dark.x, dark.y, 0.05);
  if (!positive) return { pixels, square: null };
  let square = place();
  // Keep the bright square clear of the dark one so the two never blend.
  while (Math.abs(square.x - dark.x) < SQUARE + 2 && Math.abs(square.y - dark.y) < SQUARE + 2) square = place();
  paint(square.x, square.y, 0.98);
  return { pixels, square };
}

function batchOf(images: SquareImage[]): tf.Tensor4D {
  const values = new Float32Array(images.length * SIZE * SIZE * 3);
  images.forEach((image, i) => values.set(image.pixels, i * SIZE * SIZE * 3));
  return tf.tensor4d(values, [images.length, SIZE, SIZE, 3]);
}

/**
 * How the map treats the square: the mean value over the map cells the square overlaps divided
 * by the mean over all other cells, and whether the peak lies within one cell of the square.
 */
function focusOnSquare(map: ReturnType<typeof gradCam>, square: { x: number; y: number }): { contrast: number; peakNear: boolean } {
  const cell = SIZE / map.width;
  const [x0, x1] = [Math.floor(square.x / cell), Math.floor((square.x + SQUARE - 1) / cell)];
  const [y0, y1] = [Math.floor(square.y / cell), Math.floor((square.y + SQUARE - 1) / cell)];
  const sums = { inside: 0, insideCount: 0, outside: 0, outsideCount: 0 };
  let peak = { value: -1, x: 0, y: 0 };
  for (let y = 0; y < map.height; y++) {
    for (let x = 0; x < map.width; x++) {
      const v = map.values[y * map.width + x]!;
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) {
        sums.inside += v;
        sums.insideCount++;
      } else {
        sums.outside += v;
        sums.outsideCount++;
      }
      if (v > peak.value) peak = { value: v, x, y };
    }
  }
  const contrast = sums.inside / sums.insideCount / Math.max(1e-6, sums.outside / sums.outsideCount);
  const peakNear = peak.x >= x0 - 1 && peak.x <= x1 + 1 && peak.y >= y0 - 1 && peak.y <= y1 + 1;
  return { contrast, peakNear };
}

beforeAll(async () => {
  await initBackend();
});

describe('gradCam on untrained networks', () => {
  it.each(architectureNames())('%s: a finite map in [0, 1] peaking at 1, over the last convolutional block, with no tensors left', (name) => {
    const model = buildModel(name, { imageSize: 64, seed: 1 });
    try {
      const x = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const map = gradCam(model, x, { targetClass: 1 });
      const again = gradCam(model, x, { targetClass: 1 });
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();

      const block = lastConvolutionalBlock(model);
      expect(map.layer).toBe(block.name);
      expect([map.height, map.width]).toEqual((block.outputShape as number[]).slice(1, 3));
      expect(map.values.length).toBe(map.width * map.height);
      expect(map.values.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
      expect(Math.max(...map.values)).toBe(1);
      expect(again.values).toEqual(map.values);
      // Prediction still works: the probes are removed after the pass.
      const p = tf.tidy(() => (model.predict(tf.zeros([1, 64, 64, 3])) as tf.Tensor).dataSync()[0]!);
      expect(p).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  it("an ensemble's map adds its members' weighted maps: a member with no say adds nothing", () => {
    const speaking = buildModel('original-cnn', { imageSize: 64, seed: 3 });
    const silent = buildModel('original-cnn', { imageSize: 64, seed: 4 });
    // The ensemble's logit is the mean of the members': a zero head makes one member's irrelevant.
    const head = outputLayer(silent);
    const zeroed = head.getWeights().map((w) => tf.zerosLike(w));
    head.setWeights(zeroed);
    tf.dispose(zeroed);
    const ensemble = combineMembers([speaking, silent]);
    const twins = combineMembers([speaking, speaking]);
    const x = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    try {
      expect(lastConvolutionalBlocks(ensemble).map((b) => b.name)).toEqual(['m1_conv3', 'm2_conv3']);
      const before = tf.memory().numTensors;
      const alone = gradCam(speaking, x, { targetClass: 1 });
      const together = gradCam(ensemble, x, { targetClass: 1 });
      expect(tf.memory().numTensors).toBe(before);
      expect(together.layer).toBe('m1_conv3+m2_conv3');
      expect(Math.max(...alone.values)).toBe(1);
      together.values.forEach((v, i) => expect(v).toBeCloseTo(alone.values[i]!, 4));
      // Two copies of one member: each adds half its weighted map, so the map is the member's.
      const member = gradCam(speaking, x, { targetClass: 0 });
      gradCam(twins, x, { targetClass: 0 }).values.forEach((v, i) => expect(v).toBeCloseTo(member.values[i]!, 4));
    } finally {
      tf.dispose([x]);
      [speaking, silent, ensemble, twins].forEach((m) => m.dispose());
    }
  });

  it('refuses a batch of more than one image', () => {
    const model = buildModel('original-cnn', { imageSize: 32, seed: 1 });
    const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    expect(() => gradCam(model, x)).toThrow(/one image/);
    tf.dispose([x]);
    model.dispose();
  });
});

describe('gradCam on a network where a bright square decides the class', () => {
  let model: tf.LayersModel;
  let held: SquareImage[];

  beforeAll(async () => {
    const rng = createRng(11);
    const train = Array.from({ length: 320 }, (_, i) => squareImage(rng, i % 2 === 1));
    held = Array.from({ length: 12 }, () => squareImage(rng, true));
    model = buildModel('original-cnn', { imageSize: SIZE, seed: 3 });
    model.compile({ optimizer: tf.train.adam(0.002), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    const x = batchOf(train);
    const y = tf.tensor2d(train.map((image) => [image.square ? 1 : 0]));
    const history = await model.fit(x, y, { epochs: 8, batchSize: 32, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
    const accuracy = history.history.acc ?? history.history.accuracy;
    expect(Number(accuracy!.at(-1))).toBeGreaterThan(0.95);
  }, 300_000);

  it('concentrates the positive-class map on the square', () => {
    const results = held.map((image) => {
      const x = batchOf([image]);
      try {
        return focusOnSquare(gradCam(model, x, { targetClass: 1 }), image.square!);
      } finally {
        x.dispose();
      }
    });
    // A map blind to the square would give a contrast near 1 and put its peak near the square by
    // chance about a third of the time (the square's cells and their neighbours).
    const medianContrast = results.map((r) => r.contrast).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
    expect(medianContrast).toBeGreaterThan(1.5);
    expect(results.filter((r) => r.peakNear).length).toBeGreaterThanOrEqual(results.length - 1);
  });
});
