// Slice from heap to heap. WASM's own kernel first copies its whole input out of the heap into
// a fresh JS array (readSync), then copies the slice back in. tfjs-layers' predict() slices
// every input batch along its first axis, whole batches included, so each forward pass paid
// for its input twice over and fresh pages from the kernel (3.5 MB for 32 images at 96 px,
// per test-time view): two inference workers taking those page faults at once slowed each
// other down. A whole slice now shares the data (as Identity does: tensor data is never
// written in place); any other is copied run by run inside the heap.
import { tf } from '../tf.js';
import { heapOffset } from './simd/simd-kernels.js';
import { input, type KernelArgs, type TensorInfo } from './wasm-kernel-utils.js';

export const kernelName = 'Slice';

export function slice(args: KernelArgs, stock: tf.KernelFunc | undefined): TensorInfo {
  const x = input(args, 'x');
  const { backend } = args;
  if (x.dtype === 'string') {
    if (!stock) throw new Error(`the WASM backend has no stock ${kernelName} kernel for strings`);
    return stock(args) as TensorInfo;
  }
  const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
  const [start, extent] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, begin, size);
  if (start.every((b) => b === 0) && extent.every((n, axis) => n === x.shape[axis])) {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  const out = backend.makeOutput(extent, x.dtype);
  if (extent.some((n) => n === 0)) return out;
  const bytes = tf.util.bytesPerElement(x.dtype);
  const elementStrides = tf.util.computeStrides(x.shape);
  // Read after makeOutput: an allocation may grow the heap and replace its buffer.
  const heap = new Uint8Array(backend.typedArrayFromHeap(out).buffer);
  const from = heapOffset(backend, x);
  let to = heapOffset(backend, out);
  if (tf.slice_util.isSliceContinous(x.shape, start, extent)) {
    const first = from + tf.slice_util.computeFlatOffset(start, elementStrides) * bytes;
    heap.copyWithin(to, first, first + tf.util.sizeFromShape(extent) * bytes);
    return out;
  }
  const strides = elementStrides.map((s) => s * bytes);
  // Runs along the last axis, the outer indices stepped like an odometer.
  const last = extent.length - 1;
  const run = extent[last]! * bytes;
  const index = new Array<number>(last).fill(0);
  for (;;) {
    let source = from + start[last]! * bytes;
    for (let axis = 0; axis < last; axis++) source += (start[axis]! + index[axis]!) * strides[axis]!;
    heap.copyWithin(to, source, source + run);
    to += run;
    let axis = last - 1;
    while (axis >= 0 && ++index[axis]! === extent[axis]) index[axis--] = 0;
    if (axis < 0) return out;
  }
}
