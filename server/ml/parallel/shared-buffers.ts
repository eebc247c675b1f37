// Memory the coordinator and its replica workers share: the batch, the weights, one gradient
// slot per replica, the summed gradient and Adam's moments. SharedArrayBuffers (and a shared
// WebAssembly.Memory) reach a worker through workerData without being copied, so nothing
// tensor-sized ever travels through postMessage.
import { STEP_BARRIER_SLOTS } from './step-barrier.js';

/** Where each tensor of a list sits in one flat float32 array. */
export interface FlatLayout {
  shapes: number[][];
  offsets: number[];
  /** Values in all tensors together. */
  length: number;
}

export function flatLayout(shapes: number[][]): FlatLayout {
  const offsets: number[] = [];
  let length = 0;
  for (const shape of shapes) {
    offsets.push(length);
    length += shape.reduce((a, b) => a * b, 1);
  }
  return { shapes, offsets, length };
}

/** The values of tensor `index` of `layout` inside `flat`. */
export function slotOf(flat: Float32Array, layout: FlatLayout, index: number): Float32Array {
  const start = layout.offsets[index]!;
  const size = layout.shapes[index]!.reduce((a, b) => a * b, 1);
  return flat.subarray(start, start + size);
}

/** A shared WebAssembly.Memory (the project's TypeScript libs do not declare WebAssembly). */
export interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
}

export interface SharedBuffers {
  /** Batch inputs: up to maxBatch rows of size x size x 3. */
  x: SharedArrayBuffer;
  /** Batch targets: up to maxBatch values. */
  y: SharedArrayBuffer;
  /**
   * Everything Adam reads and writes, in one WebAssembly memory so that the SIMD Adam kernel
   * works on it in place: see optimizerViews for the layout.
   */
  optimizer: SharedMemory;
  /** Replicas, each with a gradient slot in `optimizer`. */
  replicas: number;
  /** Replica k's non-trainable weights (model.nonTrainableWeights order) at [k * statistics.length, ...). */
  statistics: SharedArrayBuffer;
  /** The replicas' step barrier (step-barrier.ts). */
  barrier: SharedArrayBuffer;
}

export interface BufferSizes {
  maxBatch: number;
  imageSize: number;
  replicas: number;
  trainable: FlatLayout;
  statistics: FlatLayout;
}

const floats = (count: number) => new SharedArrayBuffer(4 * count);
const PAGE_BYTES = 65536;

interface WebAssemblyMemoryApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => SharedMemory;
}

/** A shared WebAssembly.Memory of at least `bytes` (whole 64 KiB pages), fixed in size. */
export function sharedWasmMemory(bytes: number): SharedMemory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE_BYTES));
  const { Memory } = (globalThis as unknown as { WebAssembly: WebAssemblyMemoryApi }).WebAssembly;
  return new Memory({ initial: pages, maximum: pages, shared: true });
}

/** Arrays of the optimizer's memory, each trainable.length floats, in model.trainableWeights order. */
export interface OptimizerViews {
  /** The current weights: each replica's Adam updates its own range. */
  weights: Float32Array;
  /** The batch gradient: the sum of the replicas' slots. */
  summed: Float32Array;
  /** Adam's moments: each replica keeps those of its own range. */
  firstMoment: Float32Array;
  secondMoment: Float32Array;
  /** Replica k's gradient of its shard. */
  gradients: Float32Array[];
}

/**
 * Floats from one optimizer array's start to the next: its length rounded up to a whole 4 KiB.
 * Each replica copies its gradient from its WASM heap into its slot; with slots packed end to
 * end, one replica's slot sat at an offset (mod 4096) from its source at which x86 mistook
 * loads for dependent on earlier stores ("4K aliasing"), and its 9.8 MB copy took 2.5 ms
 * against the other's 0.65. Page-aligned, both take ~0.65 ms.
 */
function optimizerRegionFloats(trainable: FlatLayout): number {
  const PAGE_FLOATS = 1024;
  return Math.ceil(trainable.length / PAGE_FLOATS) * PAGE_FLOATS;
}

export function allocateSharedBuffers({ maxBatch, imageSize, replicas, trainable, statistics }: BufferSizes): SharedBuffers {
  return {
    x: floats(maxBatch * imageSize * imageSize * 3),
    y: floats(maxBatch),
    optimizer: sharedWasmMemory(4 * optimizerRegionFloats(trainable) * (4 + replicas)),
    replicas,
    statistics: floats(replicas * statistics.length),
    barrier: new SharedArrayBuffer(4 * STEP_BARRIER_SLOTS),
  };
}

export function optimizerViews(buffers: SharedBuffers, trainable: FlatLayout): OptimizerViews {
  const { buffer } = buffers.optimizer;
  const stride = optimizerRegionFloats(trainable);
  const region = (k: number) => new Float32Array(buffer, 4 * k * stride, trainable.length);
  return {
    weights: region(0),
    summed: region(1),
    firstMoment: region(2),
    secondMoment: region(3),
    gradients: Array.from({ length: buffers.replicas }, (_, k) => region(4 + k)),
  };
}

/** Replica `replica`'s slot of non-trainable weights. */
export function statisticsSlot(buffers: SharedBuffers, statistics: FlatLayout, replica: number): Float32Array {
  return new Float32Array(buffers.statistics, 4 * replica * statistics.length, statistics.length);
}
