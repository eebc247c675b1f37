// Memory the coordinator and its replica workers share: the batch, one gradient slot per
// replica, the summed gradient and the weights. SharedArrayBuffers reach a worker through
// workerData without being copied, so nothing tensor-sized ever travels through postMessage.

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

export interface SharedBuffers {
  /** Batch inputs: up to maxBatch rows of size x size x 3. */
  x: SharedArrayBuffer;
  /** Batch targets: up to maxBatch values. */
  y: SharedArrayBuffer;
  /** Replica k's gradient of its shard at [k * trainable.length, (k + 1) * trainable.length). */
  gradients: SharedArrayBuffer;
  /** The batch gradient: the sum of the replicas' slots. */
  summed: SharedArrayBuffer;
  /** The current weights, in model.trainableWeights order: each replica updates its range. */
  weights: SharedArrayBuffer;
  /** Replica k's non-trainable weights (model.nonTrainableWeights order) at [k * statistics.length, ...). */
  statistics: SharedArrayBuffer;
}

export interface BufferSizes {
  maxBatch: number;
  imageSize: number;
  replicas: number;
  trainable: FlatLayout;
  statistics: FlatLayout;
}

const floats = (count: number) => new SharedArrayBuffer(4 * count);

export function allocateSharedBuffers({ maxBatch, imageSize, replicas, trainable, statistics }: BufferSizes): SharedBuffers {
  return {
    x: floats(maxBatch * imageSize * imageSize * 3),
    y: floats(maxBatch),
    gradients: floats(replicas * trainable.length),
    summed: floats(trainable.length),
    weights: floats(trainable.length),
    statistics: floats(replicas * statistics.length),
  };
}

/** Replica `replica`'s gradient slot. */
export function gradientSlot(buffers: SharedBuffers, trainable: FlatLayout, replica: number): Float32Array {
  return new Float32Array(buffers.gradients, 4 * replica * trainable.length, trainable.length);
}

/** Replica `replica`'s slot of non-trainable weights. */
export function statisticsSlot(buffers: SharedBuffers, statistics: FlatLayout, replica: number): Float32Array {
  return new Float32Array(buffers.statistics, 4 * replica * statistics.length, statistics.length);
}
