// Training and inference throughput of the original CNN on the WASM backend with this project's
// own kernels, plus where a training step spends its time.
//
//   npx tsx bench/kernels.ts [--json] [--sizes 64,96,128] [--steps 5] [--batch 32] [--threads 1] [--profile] [--compare-stock] [--baseline]
//
// --threads       WASM compute threads (default 1, so kernel figures compare like with like);
//                 this measures one model in one thread, not the data-parallel training engine
// --profile       per-kernel time of one training step at each size
// --compare-stock times each replaced kernel against WASM's own one at the 64x64 model's shapes
// --baseline      also trains with WASM's own kernels plus only the missing filter gradient
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { tf } from '../server/ml/tf.js';
import { describeBackend, initBackend } from '../server/ml/backend.js';
import { registerWasmKernelReplacements, unregisterWasmKernelReplacements } from '../server/ml/kernels/index.js';
import { conv2dBackpropFilter, kernelName as backpropFilterKernel } from '../server/ml/kernels/conv2d-backprop-filter.js';
import type { KernelArgs } from '../server/ml/kernels/wasm-kernel-utils.js';
import { buildModel } from '../server/ml/models/index.js';

export interface ThroughputOptions {
  imageSize: number;
  batchSize: number;
  /** Timed steps after the warm-up; the median counts. */
  steps: number;
}

export interface Throughput {
  imageSize: number;
  batchSize: number;
  trainImagesPerSecond: number;
  inferImagesPerSecond: number;
  trainStepMs: number;
  inferBatchMs: number;
}

const warmUpSteps = 2;

interface Workload {
  trainStep(): void;
  inferBatch(): void;
  dispose(): void;
}

function originalCnnWorkload(imageSize: number, batchSize: number): Workload {
  const model = buildModel('original-cnn', { imageSize, seed: 0 });
  const optimizer = tf.train.adam(0.001);
  const xs = tf.randomUniform([batchSize, imageSize, imageSize, 3], 0, 1, 'float32', 1);
  const ys = tf.tensor2d(Array.from({ length: batchSize }, (_, i) => i % 2), [batchSize, 1]);
  return {
    trainStep() {
      const loss = optimizer.minimize(
        () => tf.metrics.binaryCrossentropy(ys, model.predict(xs) as tf.Tensor).mean() as tf.Scalar,
        true,
      );
      loss?.dataSync();
      loss?.dispose();
    },
    inferBatch() {
      const scores = model.predict(xs) as tf.Tensor;
      scores.dataSync();
      scores.dispose();
    },
    dispose() {
      model.dispose();
      optimizer.dispose();
      xs.dispose();
      ys.dispose();
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianMs(run: () => void, warmUp: number, timed: number): number {
  for (let i = 0; i < warmUp; i++) run();
  const times: number[] = [];
  for (let i = 0; i < timed; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Median training and batch-inference throughput of the original CNN on the current backend. */
export function measureTrainingThroughput({ imageSize, batchSize, steps }: ThroughputOptions): Throughput {
  const workload = originalCnnWorkload(imageSize, batchSize);
  try {
    const trainStepMs = medianMs(() => workload.trainStep(), warmUpSteps, steps);
    const inferBatchMs = medianMs(() => workload.inferBatch(), warmUpSteps, steps);
    return {
      imageSize,
      batchSize,
      trainImagesPerSecond: (batchSize * 1000) / trainStepMs,
      inferImagesPerSecond: (batchSize * 1000) / inferBatchMs,
      trainStepMs,
      inferBatchMs,
    };
  } finally {
    workload.dispose();
  }
}

interface KernelShare {
  kernel: string;
  ms: number;
  share: number;
}

/** Time per kernel over one training step (after a warm-up step). */
async function profileTrainingStep(imageSize: number, batchSize: number): Promise<KernelShare[]> {
  const workload = originalCnnWorkload(imageSize, batchSize);
  try {
    workload.trainStep();
    const profile = await tf.profile(() => workload.trainStep());
    const byKernel = new Map<string, number>();
    for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
    const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
    return [...byKernel.entries()]
      .map(([kernel, ms]) => ({ kernel, ms, share: ms / total }))
      .sort((a, b) => b.ms - a.ms);
  } finally {
    workload.dispose();
  }
}

interface KernelComparison {
  case: string;
  stockMs: number | null;
  replacementMs: number;
}

/** Each replaced kernel on the shapes one 64x64, batch-32 training step of the original CNN gives it. */
function compareWithStock(batchSize: number): KernelComparison[] {
  const cases: Array<{ name: string; make: () => { inputs: tf.Tensor[]; run: () => tf.Tensor } }> = [
    {
      name: 'Conv2DBackpropFilter x 32x32x32 -> 64, 3x3 same',
      make: () => {
        const x = tf.randomNormal([batchSize, 32, 32, 32]) as tf.Tensor4D;
        const dy = tf.randomNormal([batchSize, 32, 32, 64]) as tf.Tensor4D;
        return { inputs: [x, dy], run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 32, 64] }) as tf.Tensor };
      },
    },
    {
      name: 'Conv2DBackpropInput dy 32x32x64 -> x 32x32x32, 3x3 same',
      make: () => {
        const dy = tf.randomNormal([batchSize, 32, 32, 64]) as tf.Tensor4D;
        const filter = tf.randomNormal([3, 3, 32, 64]) as tf.Tensor4D;
        return { inputs: [dy, filter], run: () => tf.conv2dTranspose(dy, filter, [batchSize, 32, 32, 32], 1, 'same') };
      },
    },
    {
      name: 'MaxPoolGrad 64x64x32, 2x2/2',
      make: () => {
        const x = tf.randomNormal([batchSize, 64, 64, 32]) as tf.Tensor4D;
        const y = tf.maxPool(x, 2, 2, 'valid');
        const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
        return { inputs: [x, y, dy], run: () => tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor };
      },
    },
    {
      name: 'Sum conv1 bias gradient: 64x64x32 over batch, rows, columns',
      make: () => {
        const dy = tf.randomNormal([batchSize, 64, 64, 32]);
        return { inputs: [dy], run: () => tf.sum(dy, [0, 1, 2]) };
      },
    },
    {
      name: 'BatchMatMul dense1 dW: [8192,32] x [32,128] (transposeA)',
      make: () => {
        const a = tf.randomNormal([batchSize, 8192]) as tf.Tensor2D;
        const b = tf.randomNormal([batchSize, 128]) as tf.Tensor2D;
        return { inputs: [a, b], run: () => tf.matMul(a, b, true, false) };
      },
    },
    {
      name: 'BatchMatMul dense1 dx: [32,128] x [8192,128]ᵀ (transposeB)',
      make: () => {
        const a = tf.randomNormal([batchSize, 128]) as tf.Tensor2D;
        const b = tf.randomNormal([8192, 128]) as tf.Tensor2D;
        return { inputs: [a, b], run: () => tf.matMul(a, b, false, true) };
      },
    },
  ];
  const timeIt = (run: () => tf.Tensor) =>
    medianMs(
      () => {
        const out = run();
        out.dataSync();
        out.dispose();
      },
      1,
      5,
    );
  return cases.map(({ name, make }) => {
    const { inputs, run } = make();
    try {
      unregisterWasmKernelReplacements();
      let stockMs: number | null = null;
      try {
        stockMs = timeIt(run);
      } catch {
        stockMs = null; // WASM has no such kernel
      }
      registerWasmKernelReplacements();
      return { case: name, stockMs, replacementMs: timeIt(run) };
    } finally {
      registerWasmKernelReplacements();
      inputs.forEach((t) => t.dispose());
    }
  });
}

/** Runs `measure` with WASM's own kernels and, since it has none, only this project's filter gradient. */
function withStockKernels<T>(measure: () => T): T {
  unregisterWasmKernelReplacements();
  tf.registerKernel({
    kernelName: backpropFilterKernel,
    backendName: 'wasm',
    kernelFunc: (params) => conv2dBackpropFilter(params as unknown as KernelArgs),
  });
  try {
    return measure();
  } finally {
    tf.unregisterKernel(backpropFilterKernel, 'wasm');
    registerWasmKernelReplacements();
  }
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const sizes = (option(args, '--sizes') ?? '64,96,128').split(',').map(Number);
  const steps = Number(option(args, '--steps') ?? 5);
  const batchSize = Number(option(args, '--batch') ?? 32);
  const log = (line: string) => {
    if (!json) console.log(line);
  };

  const threads = Number(option(args, '--threads') ?? 1);
  const backend = await initBackend({ preferred: 'wasm', threads });
  // Timings on a shared machine mean little without the load they were taken under.
  const loadBefore = os.loadavg()[0]!;
  log(`backend: ${describeBackend(backend)}; load average ${loadBefore.toFixed(2)} on ${os.availableParallelism()} cores`);
  const results: Throughput[] = [];
  for (const imageSize of sizes) {
    const r = measureTrainingThroughput({ imageSize, batchSize, steps });
    results.push(r);
    log(
      `${imageSize}x${imageSize} batch ${batchSize}: train ${r.trainImagesPerSecond.toFixed(1)} img/s ` +
        `(${r.trainStepMs.toFixed(0)} ms/step), inference ${r.inferImagesPerSecond.toFixed(1)} img/s (${r.inferBatchMs.toFixed(0)} ms/batch)`,
    );
  }

  const baseline: Throughput[] = [];
  if (args.includes('--baseline')) {
    log('\nbaseline (WASM stock kernels + filter gradient only):');
    for (const imageSize of sizes) {
      const r = withStockKernels(() => measureTrainingThroughput({ imageSize, batchSize, steps }));
      baseline.push(r);
      log(`${imageSize}x${imageSize} batch ${batchSize}: train ${r.trainImagesPerSecond.toFixed(1)} img/s (${r.trainStepMs.toFixed(0)} ms/step)`);
    }
  }

  const profiles: Record<string, KernelShare[]> = {};
  if (args.includes('--profile')) {
    for (const imageSize of sizes) {
      profiles[imageSize] = await profileTrainingStep(imageSize, batchSize);
      log(`\nkernel time in one ${imageSize}x${imageSize} training step:`);
      for (const k of profiles[imageSize]!.slice(0, 12)) log(`  ${k.kernel.padEnd(24)} ${k.ms.toFixed(1).padStart(8)} ms  ${(k.share * 100).toFixed(1).padStart(5)}%`);
    }
  }

  let comparisons: KernelComparison[] = [];
  if (args.includes('--compare-stock')) {
    comparisons = compareWithStock(batchSize);
    log('\nreplaced kernels vs WASM stock (median ms):');
    for (const c of comparisons) {
      const stock = c.stockMs === null ? 'missing' : `${c.stockMs.toFixed(1)} ms`;
      log(`  ${c.case.padEnd(58)} stock ${stock.padStart(9)}  ours ${c.replacementMs.toFixed(1).padStart(7)} ms`);
    }
  }

  const loadAfter = os.loadavg()[0]!;
  log(`load average after: ${loadAfter.toFixed(2)}`);
  if (json) console.log(JSON.stringify({ backend, loadAverage: { before: loadBefore, after: loadAfter }, results, baseline, profiles, comparisons }, null, 2));
}

// Importable for its measurement function; runs only when started as a script.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
