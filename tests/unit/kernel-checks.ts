// This project's WASM kernels against the cpu backend's own kernels and gradients, in one process,
// on the build of WASM a test file picks: kernels.test.ts the threaded one (the server's
// inference), kernels-one-thread.test.ts the single-threaded one (each training replica's),
// where some kernels take other paths (Winograd's products on this project's SIMD kernel
// instead of XNNPACK's threads).
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { registerWasmKernelReplacements, unregisterWasmKernelReplacements, wasmKernelReplacementNames } from '../../server/ml/kernels/index.js';
import { streamableShape } from '../../server/ml/kernels/batch-mat-mul.js';
import { simdKernels } from '../../server/ml/kernels/simd/simd-kernels.js';

type Backend = 'cpu' | 'wasm';

/** Deterministic values in [-1, 1) (or small integers, to force ties) so both backends see the same data. */
function values(count: number, seed: number, integers = false): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = integers ? Math.floor(unit * 3) : unit * 2 - 1;
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs `compute` on one backend and returns its results as plain arrays. */
async function on(backend: Backend, compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(compute).map((t) => {
    const data = Float32Array.from(t.dataSync());
    t.dispose();
    return data;
  });
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale).toBeLessThanOrEqual(tolerance);
}

async function expectSameOnBothBackends(compute: () => tf.Tensor[], tolerance?: number): Promise<void> {
  const expected = await on('cpu', compute);
  const actual = await on('wasm', compute);
  expected.forEach((e, i) => expectClose(actual[i]!, e, tolerance));
}

function wasmBackend(): BackendWasm {
  return tf.findBackend('wasm') as BackendWasm;
}

/** Bytes of WASM memory: it only grows, so a leak inside WASM shows up here. */
function heapBytes(backend: BackendWasm): number {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
}

interface ConvCase {
  x: [number, number, number, number];
  kernel: number;
  outChannels: number;
  stride: number;
  pad: 'valid' | 'same' | tf.backend_util.ExplicitPadding;
}

const convCases: ConvCase[] = [
  { x: [1, 7, 7, 1], kernel: 3, outChannels: 2, stride: 1, pad: 'valid' },
  { x: [4, 9, 8, 3], kernel: 3, outChannels: 5, stride: 1, pad: 'same' },
  { x: [1, 10, 11, 3], kernel: 5, outChannels: 2, stride: 1, pad: 'same' },
  { x: [4, 6, 5, 1], kernel: 1, outChannels: 3, stride: 1, pad: 'valid' },
  { x: [2, 11, 10, 3], kernel: 5, outChannels: 4, stride: 2, pad: 'valid' },
  { x: [4, 7, 6, 3], kernel: 3, outChannels: 4, stride: 2, pad: 'same' },
  { x: [3, 8, 9, 1], kernel: 1, outChannels: 3, stride: 2, pad: 'same' },
  { x: [1, 9, 9, 3], kernel: 3, outChannels: 2, stride: 2, pad: 'valid' },
  { x: [2, 12, 12, 8], kernel: 3, outChannels: 16, stride: 1, pad: 'same' },
  // Explicit padding; the first is wider than the filter in places (stock input-gradient kernel).
  { x: [2, 6, 7, 3], kernel: 3, outChannels: 2, stride: 1, pad: [[0, 0], [3, 1], [2, 4], [0, 0]] },
  { x: [2, 9, 8, 2], kernel: 3, outChannels: 3, stride: 2, pad: [[0, 0], [1, 0], [0, 2], [0, 0]] },
  // Big enough for the filter gradient to work in several chunks, one starting mid-image.
  { x: [3, 50, 50, 8], kernel: 3, outChannels: 4, stride: 1, pad: 'same' },
  { x: [2, 101, 101, 3], kernel: 3, outChannels: 2, stride: 2, pad: 'valid' },
  // Winograd F(2x2, 3x3): forward and input gradient from 4 channels on; the filter gradient too
  // when the output channels come in eights (not the second case's 12). On the single-threaded
  // build, image by image when an image's tiles come in fours; the filter gradient of the fourth
  // case sums each image's 100 tiles in two passes (64, then 36). The last case's 9 tiles per
  // image leave the products to BatchMatMul and the filter gradient to the direct kernel.
  { x: [2, 8, 10, 64], kernel: 3, outChannels: 8, stride: 1, pad: 'same' },
  { x: [1, 6, 6, 64], kernel: 3, outChannels: 12, stride: 1, pad: 'same' },
  { x: [2, 40, 36, 4], kernel: 3, outChannels: 8, stride: 1, pad: 'same' },
  { x: [2, 20, 20, 32], kernel: 3, outChannels: 64, stride: 1, pad: 'same' },
  { x: [2, 6, 6, 8], kernel: 3, outChannels: 8, stride: 1, pad: 'same' },
  // An RGB first layer: the filter gradient's own SIMD kernel (any height and width).
  { x: [3, 10, 9, 3], kernel: 3, outChannels: 8, stride: 1, pad: 'same' },
  { x: [2, 33, 32, 3], kernel: 3, outChannels: 4, stride: 1, pad: 'same' },
];

function convGradients({ x: xShape, kernel, outChannels, stride, pad }: ConvCase, seed: number) {
  const filterShape: [number, number, number, number] = [kernel, kernel, xShape[3], outChannels];
  const xValues = values(size(xShape), seed);
  const filterValues = values(size(filterShape), seed + 1);
  return (): tf.Tensor[] => {
    const x = tf.tensor4d(xValues, xShape);
    const filter = tf.tensor4d(filterValues, filterShape);
    const y = tf.conv2d(x, filter, stride, pad);
    // A random upstream gradient, so every dy element matters.
    const upstream = tf.tensor(values(y.size, seed + 2), y.shape);
    const [dx, dFilter] = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, stride, pad).mul(upstream).sum(),
    )([x, filter]);
    return [y, dx!, dFilter!];
  };
}

const describeCase = (c: ConvCase) =>
  `x ${c.x.join('x')}, ${c.kernel}x${c.kernel} -> ${c.outChannels}, stride ${c.stride}, ${typeof c.pad === 'string' ? c.pad : `pad ${JSON.stringify(c.pad.slice(1, 3))}`}`;

/** Registers every check, run on the WASM build with `threads` compute threads. */
export function defineKernelChecks(threads: number): void {
  beforeAll(async () => {
    const info = await initBackend({ preferred: 'wasm', threads });
    expect(info.name).toBe('wasm');
    expect(info.threads).toBe(threads);
  });

  describe('Conv2D gradients on WASM match the cpu backend', () => {
    it.each(convCases.map((c, i) => [describeCase(c), c, i] as const))('%s', async (_name, c, i) => {
      await expectSameOnBothBackends(convGradients(c, 100 + i));
    });

    it('needs the registered filter-gradient kernel (WASM has none of its own)', async () => {
      const compute = convGradients(convCases[1]!, 7);
      await tf.setBackend('wasm');
      unregisterWasmKernelReplacements();
      try {
        expect(() => tf.tidy(compute)).toThrow(/Conv2DBackpropFilter/);
      } finally {
        registerWasmKernelReplacements();
      }
      await expectSameOnBothBackends(compute);
    });
  });

  describe('kernel registration', () => {
    const installed = () => wasmKernelReplacementNames.map((name) => tf.getKernel(name, 'wasm')?.kernelFunc);

    it('replaces every listed kernel, is idempotent, and can put the stock ones back', () => {
      expect(wasmKernelReplacementNames).toEqual(
        expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'BatchMatMul', 'Sum', 'ReluGrad', 'Identity', 'Slice', 'Conv2D', 'FusedConv2D']),
      );
      const ours = installed();
      registerWasmKernelReplacements();
      expect(installed()).toEqual(ours);

      unregisterWasmKernelReplacements();
      const stock = installed();
      stock.forEach((func, i) => expect(func).not.toBe(ours[i]));
      expect(stock[wasmKernelReplacementNames.indexOf('Conv2DBackpropFilter')]).toBeUndefined();
      registerWasmKernelReplacements();
      installed().forEach((func, i) => {
        expect(func).toBeDefined();
        expect(func).not.toBe(stock[i]);
      });
    });
  });

  describe('FusedConv2D (inference) on WASM matches the cpu backend', () => {
    // elu, and on the threaded build a single image: WASM's own kernel. 16 output channels:
    // whole 4x8 blocks for the Winograd products' SIMD kernel (12 leave them to BatchMatMul).
    const activations = ['relu', 'linear', 'elu'] as const;
    const cases = activations.flatMap((activation) => [true, false].map((withBias) => ({ activation, withBias, batch: 3, outChannels: 12 })));
    cases.push({ activation: 'relu', withBias: true, batch: 1, outChannels: 12 });
    cases.push({ activation: 'relu', withBias: true, batch: 2, outChannels: 16 }, { activation: 'linear', withBias: false, batch: 1, outChannels: 16 });
    it.each(cases.map((c) => [`${c.activation}${c.withBias ? ' with bias' : ''}, batch ${c.batch}, ${c.outChannels} out`, c] as const))(
      '%s',
      async (_name, { activation, withBias, batch, outChannels }) => {
        const xShape: [number, number, number, number] = [batch, 6, 8, 8];
        const filterShape: [number, number, number, number] = [3, 3, 8, outChannels];
        const xValues = values(size(xShape), 1700);
        const filterValues = values(size(filterShape), 1701);
        const biasValues = values(outChannels, 1702);
        await expectSameOnBothBackends(() => [
          tf.fused.conv2d({
            x: tf.tensor4d(xValues, xShape),
            filter: tf.tensor4d(filterValues, filterShape),
            strides: 1,
            pad: 'same',
            bias: withBias ? tf.tensor1d(biasValues) : undefined,
            activation,
          }),
        ]);
      },
    );
  });

  interface PoolCase {
    name: string;
    x: [number, number, number, number];
    pool: number;
    stride: number;
    pad: 'valid' | 'same';
    ties?: boolean;
    /** Every 5th input NaN: it never wins a window, as in the cpu backend (only the gradient is compared). */
    nans?: boolean;
  }

  const poolCases: PoolCase[] = [
    { name: '2x2/2 valid', x: [2, 8, 8, 3], pool: 2, stride: 2, pad: 'valid' },
    { name: '2x2/2 valid, odd sizes', x: [3, 7, 9, 2], pool: 2, stride: 2, pad: 'valid' },
    { name: '2x2/2 valid, ties', x: [2, 6, 6, 4], pool: 2, stride: 2, pad: 'valid', ties: true },
    { name: '3x3/3 valid, odd sizes, ties', x: [1, 10, 8, 3], pool: 3, stride: 3, pad: 'valid', ties: true },
    { name: '2x2/2 same, odd sizes (padded windows)', x: [2, 5, 7, 2], pool: 2, stride: 2, pad: 'same' },
    { name: '3x3/2 same, overlapping and padded', x: [2, 7, 7, 2], pool: 3, stride: 2, pad: 'same' },
    { name: '3x3/1 valid, overlapping, ties', x: [1, 6, 6, 2], pool: 3, stride: 1, pad: 'valid', ties: true },
    // Multiples of 4 channels take the SIMD kernel.
    { name: '2x2/2 valid, 8 channels (SIMD)', x: [3, 10, 12, 8], pool: 2, stride: 2, pad: 'valid' },
    { name: '2x2/2 valid, 4 channels, odd sizes (SIMD)', x: [2, 9, 7, 4], pool: 2, stride: 2, pad: 'valid' },
    { name: '2x2/2 valid, 12 channels, ties (SIMD)', x: [2, 8, 6, 12], pool: 2, stride: 2, pad: 'valid', ties: true },
    { name: '2x2/2 valid, 8 channels, NaNs (SIMD)', x: [2, 6, 8, 8], pool: 2, stride: 2, pad: 'valid', nans: true },
    { name: '2x2/2 valid, 2 channels, NaNs (JS)', x: [2, 6, 8, 2], pool: 2, stride: 2, pad: 'valid', nans: true },
  ];

  function poolGradient({ x: xShape, pool, stride, pad, ties, nans }: PoolCase, seed: number) {
    const xValues = values(size(xShape), seed, ties);
    if (nans) for (let i = 0; i < xValues.length; i += 5) xValues[i] = Number.NaN;
    return (): tf.Tensor[] => {
      const x = tf.tensor4d(xValues, xShape);
      const y = tf.maxPool(x, pool, stride, pad);
      const upstream = tf.tensor(values(y.size, seed + 1), y.shape);
      const dx = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, pool, stride, pad).mul(upstream).sum())(x);
      return nans ? [dx] : [y, dx];
    };
  }

  describe('MaxPool gradient on WASM matches the cpu backend', () => {
    it.each(poolCases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
      await expectSameOnBothBackends(poolGradient(c, 200 + i), 0);
    });
  });

  interface MatMulCase {
    a: number[];
    b: number[];
    transposeA: boolean;
    transposeB: boolean;
  }

  const matMulCases: MatMulCase[] = [false, true].flatMap((transposeA) =>
    [false, true].flatMap((transposeB) => {
      const shape = (rows: number, columns: number, transposed: boolean) => (transposed ? [columns, rows] : [rows, columns]);
      return [
        { a: shape(5, 7, transposeA), b: shape(7, 3, transposeB), transposeA, transposeB },
        { a: [2, ...shape(5, 7, transposeA)], b: [2, ...shape(7, 3, transposeB)], transposeA, transposeB },
        // A dense layer's shapes: large weights, small batch (the result-transposing path for transposeB).
        { a: shape(4, 16, transposeA), b: shape(16, 300, transposeB), transposeA, transposeB },
        { a: shape(32, 300, transposeA), b: shape(300, 17, transposeB), transposeA, transposeB },
        { a: [2, ...shape(4, 16, transposeA)], b: [1, ...shape(16, 300, transposeB)], transposeA, transposeB },
      ];
    }),
  );

  describe('MatMul (and its gradients) on WASM match the cpu backend', () => {
    it.each(matMulCases.map((c, i) => [`a ${c.a.join('x')}${c.transposeA ? 'ᵀ' : ''} · b ${c.b.join('x')}${c.transposeB ? 'ᵀ' : ''}`, c, i] as const))(
      '%s',
      async (_name, { a: aShape, b: bShape, transposeA, transposeB }, i) => {
        const aValues = values(size(aShape), 300 + i);
        const bValues = values(size(bShape), 400 + i);
        await expectSameOnBothBackends(() => {
          const a = tf.tensor(aValues, aShape);
          const b = tf.tensor(bValues, bShape);
          const y = tf.matMul(a, b, transposeA, transposeB);
          // tfjs-core's matMul gradient does not reduce broadcast batch axes, on any backend.
          if (aShape.length > 2 && aShape[0] !== bShape[0]) return [y];
          const upstream = tf.tensor(values(y.size, 500 + i), y.shape);
          const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q, transposeA, transposeB).mul(upstream).sum())([a, b]);
          return [y, da!, db!];
        });
      },
    );
  });

  // Large right operands, 256 K elements and more: on the one-thread build the first product with
  // such a b runs on this project's streamed SIMD kernel, the next with the same b on XNNPACK
  // (which keeps its packed copy); the threaded build always leaves it to XNNPACK.
  const streamedCases: { a: number[]; b: number[] }[] = [
    { a: [16, 2048], b: [2048, 128] }, // a dense layer's shape, small
    { a: [4, 32768], b: [32768, 8] }, // many slices of b
    { a: [1, 12, 4100], b: [1, 4100, 64] }, // a batch axis of 1; the last slice partial
    { a: [6, 2048], b: [2048, 128] }, // rows not in fours: XNNPACK
  ];

  describe('MatMul with a large b on WASM matches the cpu backend, first and second time', () => {
    it.each(streamedCases.map((c, i) => [`a ${c.a.join('x')} · b ${c.b.join('x')}`, c, i] as const))('%s', async (_name, { a: aShape, b: bShape }, i) => {
      const aValues = values(size(aShape), 600 + i);
      const bValues = values(size(bShape), 700 + i);
      const operands = (): [tf.Tensor2D, tf.Tensor2D] => [tf.tensor(aValues, aShape), tf.tensor(bValues, bShape)] as tf.Tensor[] as [tf.Tensor2D, tf.Tensor2D];
      const [expected] = await on('cpu', () => [tf.matMul(...operands())]);
      await tf.setBackend('wasm');
      const [a, b] = operands();
      try {
        const streams = threads === 1 && aShape.at(-2)! % 4 === 0;
        expect(streamableShape(wasmBackend(), a, b) !== undefined).toBe(streams);
        if (streams) expect(simdKernels(wasmBackend())).toBeDefined();
        for (let time = 0; time < 2; time++) {
          const y = tf.matMul(a, b);
          expect(y.shape).toEqual([...aShape.slice(0, -1), bShape.at(-1)!]);
          expectClose(Float32Array.from(y.dataSync()), expected!, 1e-5);
          y.dispose();
        }
      } finally {
        tf.dispose([a, b]);
      }
    });
  });

  interface SumCase {
    x: number[];
    axis: number | number[];
    keepDims?: boolean;
  }

  const sumCases: SumCase[] = [
    { x: [4, 5, 6, 3], axis: [0, 1, 2] }, // a conv bias gradient
    { x: [4, 5, 6, 3], axis: [2, 0, 1], keepDims: true },
    { x: [7, 9], axis: 0 }, // a dense bias gradient
    { x: [3, 4, 5], axis: [0, 1] },
    { x: [3, 4, 5], axis: [-3] },
    { x: [3, 4, 5], axis: [1, 2] }, // trailing axes: the stock kernel
    { x: [3, 4, 5], axis: [0, 2] }, // mixed axes: the stock kernel
    { x: [3, 4, 5], axis: [0, 1, 2] }, // everything: the stock kernel
    // Rows of a multiple of 4 floats: the SIMD kernel; the last adds ~150,000 rows (doubles keep it exact).
    { x: [4, 5, 6, 8], axis: [0, 1, 2] },
    { x: [7, 12], axis: 0, keepDims: true },
    { x: [16, 96, 96, 4], axis: [0, 1, 2] },
  ];

  describe('Sum on WASM matches the cpu backend', () => {
    it.each(sumCases.map((c, i) => [`x ${c.x.join('x')} over ${String(c.axis)}${c.keepDims ? ', keepDims' : ''}`, c, i] as const))(
      '%s',
      async (_name, { x: shape, axis, keepDims }, i) => {
        const xValues = values(size(shape), 1000 + i).map((v) => v * 100);
        const compute = () => [tf.sum(tf.tensor(xValues, shape), axis, keepDims)];
        await expectSameOnBothBackends(compute, 1e-6);
        await tf.setBackend('cpu');
        const expectedShape = tf.tidy(compute)[0]!.shape;
        await tf.setBackend('wasm');
        expect(tf.tidy(compute)[0]!.shape).toEqual(expectedShape);
      },
    );
  });

  const reluShapes: number[][] = [
    [2, 6, 6, 8], // a multiple of 4: all SIMD
    [3, 5, 7], // 105 elements: SIMD then a JS tail of 1
    [3], // JS only
  ];

  /** ReLU's gradient for x with zeros and NaNs in it (NaN in x gives NaN, as tfjs's Step does). */
  function reluGradient(shape: number[], seed: number) {
    const xValues = values(size(shape), seed, true).map((v, i) => (i % 7 === 2 ? Number.NaN : v - 1));
    return (): tf.Tensor[] => {
      const x = tf.tensor(xValues, shape);
      const upstream = tf.tensor(values(x.size, seed + 1), shape);
      return [tf.grad((a: tf.Tensor) => tf.relu(a).mul(upstream).sum())(x)];
    };
  }

  function expectSameWithNaNs(actual: Float32Array, expected: Float32Array): void {
    expect(Array.from(actual, (v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(Array.from(expected, (v) => (Number.isNaN(v) ? 'NaN' : v)));
  }

  describe('ReLU gradient on WASM matches the cpu backend', () => {
    it.each(reluShapes.map((shape, i) => [shape.join('x'), shape, i] as const))('x %s, with zeros and NaNs', async (_name, shape, i) => {
      const compute = reluGradient(shape, 1400 + i);
      const [expected] = await on('cpu', compute);
      const [actual] = await on('wasm', compute);
      expect(expected!.some(Number.isNaN)).toBe(true);
      expectSameWithNaNs(actual!, expected!);
    });

    it('runs as one ReluGrad kernel on WASM, and as tfjs\'s own formula elsewhere', async () => {
      const kernelsRun = async (backend: Backend) => {
        await tf.setBackend(backend);
        const profile = await tf.profile(() => tf.tidy(reluGradient([2, 4, 4, 4], 1500))[0]!.dispose());
        return profile.kernels.map((k) => k.name);
      };
      expect(await kernelsRun('wasm')).toContain('ReluGrad');
      expect(await kernelsRun('wasm')).not.toContain('Step');
      expect(await kernelsRun('cpu')).toContain('Step');
    });
  });

  describe('Identity on WASM', () => {
    it('shares the data instead of copying it, and the copy outlives the original', async () => {
      await tf.setBackend('wasm');
      const backend = wasmBackend();
      const x = tf.tensor([1, 2, 3, 4]);
      const buffers = backend.numDataIds();
      const y = tf.clone(x);
      expect(backend.numDataIds()).toBe(buffers);
      x.dispose();
      expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
      y.dispose();
      expect(backend.numDataIds()).toBe(buffers - 1);
    });
  });

  const sliceCases: { x: number[]; begin: number[]; size: number[]; dtype?: 'float32' | 'int32' | 'bool' }[] = [
    { x: [6, 4, 4, 3], begin: [2, 0, 0, 0], size: [3, -1, -1, -1] }, // a run of whole images: one copy
    { x: [6, 4, 4, 3], begin: [0, 1, 1, 0], size: [6, 2, 3, 3] }, // a crop: runs of pixels
    { x: [5, 7], begin: [1, 2], size: [3, 4] },
    { x: [4, 5, 6], begin: [1, 0, 2], size: [2, 5, 3], dtype: 'int32' },
    { x: [3, 4, 5, 6, 2], begin: [1, 1, 0, 2, 1], size: [2, 2, 5, 3, 1] }, // rank 5: WASM's own has no loop for it
    { x: [8], begin: [3], size: [4], dtype: 'bool' },
    { x: [4, 6], begin: [2, 1], size: [0, 3] }, // empty
  ];

  describe('Slice on WASM', () => {
    it.each(sliceCases.map((c) => [`${c.x.join('x')} from [${c.begin.join(', ')}] size [${c.size.join(', ')}]${c.dtype ? ` ${c.dtype}` : ''}`, c] as const))(
      '%s matches the cpu backend',
      async (_name, { x: shape, begin, size: extent, dtype = 'float32' }) => {
        const xValues = values(size(shape), 77, true).map((v, i) => (dtype === 'bool' ? v % 2 : v + i));
        const compute = () => {
          const y = tf.slice(tf.tensor(xValues, shape, dtype), begin, extent);
          return [y, tf.tensor(y.shape)];
        };
        const expected = await on('cpu', compute);
        const actual = await on('wasm', compute);
        expect(Array.from(actual[0]!)).toEqual(Array.from(expected[0]!));
        expect(Array.from(actual[1]!)).toEqual(Array.from(expected[1]!));
      },
    );

    it('shares the data of a whole slice, frees a partial one, and reads nothing out of the heap', async () => {
      await tf.setBackend('wasm');
      const backend = wasmBackend();
      const x = tf.tensor4d(values(2 * 3 * 3 * 4, 5), [2, 3, 3, 4]);
      const readSync = backend.readSync.bind(backend);
      let reads = 0;
      backend.readSync = (...args: Parameters<typeof readSync>) => {
        reads++;
        return readSync(...args);
      };
      try {
        const buffers = backend.numDataIds();
        const whole = tf.slice(x, [0, 0, 0, 0], [2, 3, 3, 4]);
        expect(backend.numDataIds()).toBe(buffers);
        const part = tf.slice(x, [1, 0, 1, 0], [1, 3, 2, 4]);
        expect(backend.numDataIds()).toBe(buffers + 1);
        expect(reads).toBe(0);
        const expected = Array.from(x.dataSync());
        x.dispose();
        expect(Array.from(whole.dataSync())).toEqual(expected);
        tf.dispose([whole, part]);
        expect(backend.numDataIds()).toBe(buffers - 1);
      } finally {
        backend.readSync = readSync;
      }
    });
  });

  /** conv-pool-conv-pool-dense-sigmoid, with weights fixed by a seed so both backends start equal. */
  function buildSmallCnn(imageSize: number): tf.LayersModel {
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [imageSize, imageSize, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    model.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'valid', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 8, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    model.setWeights(model.getWeights().map((w, i) => tf.tensor(values(w.size, 600 + i).map((v) => v * 0.3), w.shape)));
    return model;
  }

  interface Trainer {
    step(): number;
    dispose(): void;
  }

  function smallCnnTrainer(imageSize: number, batch: number): Trainer {
    const model = buildSmallCnn(imageSize);
    const optimizer = tf.train.adam(0.01);
    const xs = tf.tensor4d(values(batch * imageSize * imageSize * 3, 700), [batch, imageSize, imageSize, 3]);
    const ys = tf.tensor2d(Array.from({ length: batch }, (_, i) => i % 2), [batch, 1]);
    return {
      step() {
        const loss = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(ys, model.predict(xs) as tf.Tensor).mean() as tf.Scalar, true)!;
        const value = loss.dataSync()[0]!;
        loss.dispose();
        return value;
      },
      dispose() {
        model.dispose();
        optimizer.dispose();
        xs.dispose();
        ys.dispose();
      },
    };
  }

  async function lossTrajectory(backend: Backend, steps: number): Promise<number[]> {
    await tf.setBackend(backend);
    const trainer = smallCnnTrainer(18, 6);
    const losses = Array.from({ length: steps }, () => trainer.step());
    trainer.dispose();
    return losses;
  }

  describe('training on WASM', () => {
    it('follows the cpu loss trajectory with optimizer.minimize', async () => {
      const expected = await lossTrajectory('cpu', 8);
      const actual = await lossTrajectory('wasm', 8);
      expect(expected[7]).toBeLessThan(expected[0]!); // the run learns, so the comparison means something
      actual.forEach((loss, i) => expect(Math.abs(loss - expected[i]!)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(expected[i]!))));
    });

    it('keeps tensors, WASM buffers and the heap flat over 50 steps', async () => {
      await tf.setBackend('wasm');
      const backend = wasmBackend();
      const trainer = smallCnnTrainer(32, 8);
      for (let i = 0; i < 3; i++) trainer.step();
      const before = { tensors: tf.memory().numTensors, buffers: backend.numDataIds(), heap: heapBytes(backend) };
      for (let i = 0; i < 50; i++) trainer.step();
      const after = { tensors: tf.memory().numTensors, buffers: backend.numDataIds(), heap: heapBytes(backend) };
      trainer.dispose();
      expect(after).toEqual(before);
    });

    it('frees every intermediate on every path (chunked patches, zero-stuffing, fallbacks)', async () => {
      await tf.setBackend('wasm');
      const backend = wasmBackend();
      const workloads = [
        ...convCases.map((c, i) => convGradients(c, 800 + i)),
        ...poolCases.map((c, i) => poolGradient(c, 900 + i)),
        ...matMulCases.map(({ a, b, transposeA, transposeB }, i) => () => [
          tf.matMul(tf.tensor(values(size(a), 1100 + i), a), tf.tensor(values(size(b), 1200 + i), b), transposeA, transposeB),
        ]),
        ...sumCases.map(({ x, axis, keepDims }, i) => () => [tf.sum(tf.tensor(values(size(x), 1300 + i), x), axis, keepDims)]),
        ...reluShapes.map((shape, i) => reluGradient(shape, 1600 + i)),
      ];
      const runAll = () => workloads.forEach((compute) => tf.tidy(compute).forEach((t) => t.dispose()));
      runAll();
      const before = { tensors: tf.memory().numTensors, buffers: backend.numDataIds() };
      for (let i = 0; i < 5; i++) runAll();
      expect({ tensors: tf.memory().numTensors, buffers: backend.numDataIds() }).toEqual(before);
    });
  });
}
