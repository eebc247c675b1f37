// Sum over leading axes, e.g. a bias gradient (dy summed over batch, rows and columns). WASM's
// own Sum first transposes the whole tensor to put those axes last; this adds rows of channels
// in place instead, in doubles, by a SIMD kernel when the row is a multiple of 4 floats and a JS
// loop otherwise. Other reductions go to the stock kernel.
import { tf } from '../tf.js';
import { heapView, input, release, type KernelArgs, type TensorInfo } from './wasm-kernel-utils.js';
import { heapOffset, simdKernels } from './simd/simd-kernels.js';

export const kernelName = 'Sum';

export function sum(args: KernelArgs, stock: tf.KernelFunc | undefined): TensorInfo {
  if (!stock) throw new Error(`the WASM backend has no stock ${kernelName} kernel to build on`);
  const { backend, attrs } = args;
  const x = input(args, 'x');
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const leadingOnly = axes.length > 0 && axes.length < x.shape.length && axes.every((axis, i) => axis === i);
  if (!leadingOnly || x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return stock(args) as TensorInfo;

  const keptShape = x.shape.slice(axes.length);
  const outShape = attrs.keepDims ? [...axes.map(() => 1), ...keptShape] : keptShape;
  const width = tf.util.sizeFromShape(keptShape);
  const rows = tf.util.sizeFromShape(x.shape) / width;
  const out = backend.makeOutput(outShape, 'float32');
  const simd = width % 4 === 0 ? simdKernels(backend) : undefined;
  if (simd) {
    const scratch = backend.makeOutput([2 * width], 'float32'); // width doubles
    simd.sumRows(heapOffset(backend, x), heapOffset(backend, out), heapOffset(backend, scratch), rows, width);
    release(backend, scratch);
    return out;
  }
  const xs = heapView(backend, x);
  const sums = new Float64Array(width); // double accumulators, as the cpu backend adds
  for (let row = 0, at = 0; row < rows; row++) {
    for (let i = 0; i < width; i++, at++) sums[i] += xs[at];
  }
  heapView(backend, out).set(sums);
  return out;
}
