// Matrix product with transposed operands. WASM sends transposeA/transposeB to a scalar C++ loop
// but the plain product to XNNPACK, so operands are transposed explicitly first - or, when that
// moves less data, the product is computed the other way round and its result transposed:
// op(A)·op(B) = (op(B)ᵀ·op(A)ᵀ)ᵀ.
import { tf } from '../tf.js';
import { input, release, transpose, type Attrs, type KernelArgs, type TensorInfo, type WasmBackend } from './wasm-kernel-utils.js';
import { backendIsThreaded, heapOffset, simdKernels } from './simd/simd-kernels.js';

export const kernelName = 'BatchMatMul';

export function batchMatMul(args: KernelArgs, stock: tf.KernelFunc | undefined): TensorInfo {
  if (!stock) throw new Error(`the WASM backend has no stock ${kernelName} kernel to build on`);
  const { backend, attrs } = args;
  const a = input(args, 'a');
  const b = input(args, 'b');
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  if (!transposeA && !transposeB) return streamedProduct(backend, a, b) ?? (stock(args) as TensorInfo);

  // Cost in elements moved: each explicit transpose, plus XNNPACK packing the right operand.
  const rankA = a.shape.length;
  const rankB = b.shape.length;
  const rows = transposeA ? a.shape[rankA - 1] : a.shape[rankA - 2];
  const columns = transposeB ? b.shape[rankB - 2] : b.shape[rankB - 1];
  const batch = tf.util.sizeFromShape(tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)));
  const sizeA = tf.util.sizeFromShape(a.shape);
  const sizeB = tf.util.sizeFromShape(b.shape);
  const directCost = (transposeA ? sizeA : 0) + (transposeB ? sizeB : 0) + sizeB;
  const swappedCost = (transposeB ? 0 : sizeB) + (transposeA ? 0 : sizeA) + sizeA + batch * rows * columns;

  const plain = { stock, backend, attrs };
  if (directCost <= swappedCost) return plainProduct(plain, a, transposeA, b, transposeB);
  const resultTransposed = plainProduct(plain, b, !transposeB, a, !transposeA);
  try {
    return swapLastTwoAxes(backend, resultTransposed);
  } finally {
    release(backend, resultTransposed);
  }
}

interface PlainKernel {
  stock: tf.KernelFunc;
  backend: WasmBackend;
  attrs: Attrs;
}

/** left·right after transposing the operands flagged, through WASM's untransposed (XNNPACK) path. */
function plainProduct({ stock, backend, attrs }: PlainKernel, left: TensorInfo, transposeLeft: boolean, right: TensorInfo, transposeRight: boolean): TensorInfo {
  const made: TensorInfo[] = [];
  try {
    const a = transposeLeft ? swapLastTwoAxes(backend, left) : left;
    if (a !== left) made.push(a);
    const b = transposeRight ? swapLastTwoAxes(backend, right) : right;
    if (b !== right) made.push(b);
    return stock({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo;
  } finally {
    release(backend, ...made);
  }
}

function swapLastTwoAxes(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return transpose(backend, x, perm);
}

/** Rows of b per slice of the streamed product: 256 KB of b, which stays in L2 while used. */
const STREAM_SLICE_BYTES = 256 * 1024;
/** From this many elements of b (1 MB) on: XNNPACK packs ~1 MB a ms, about what the whole product takes. */
const STREAM_MIN_B = 256 * 1024;
/**
 * Right operands seen here before. XNNPACK keeps the packed copy of a b for as long as the tensor
 * lives, so from its second product on (a served model's weights) XNNPACK is the faster; a b used
 * once (the weights of one training step) is streamed.
 */
const multipliedBefore = new WeakSet<object>();

/**
 * a·b by the SIMD kernel reading a large b where it lies, the first time b is multiplied. In
 * training a dense layer's weights are new tensors every step, and XNNPACK packed them into its
 * own layout on every call: for the original CNN, 9.4 MB read and written once more per step, the
 * part of a replica's step that slowed down most while the other replica ran. Undefined where
 * the kernel does not apply (shapes, the threaded build, a b seen before).
 */
function streamedProduct(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  const shape = streamableShape(backend, a, b);
  const simd = shape && simdKernels(backend);
  if (!shape || !simd || multipliedBefore.has(b.dataId)) return undefined;
  multipliedBefore.add(b.dataId);
  const { m, depth, n } = shape;
  const c = backend.makeOutput([...(a.shape.length > b.shape.length ? a : b).shape.slice(0, -2), m, n], 'float32');
  const chunk = Math.max(4, Math.floor(STREAM_SLICE_BYTES / (4 * n)));
  simd.matMul(heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, c), m, depth, n, chunk);
  return c;
}

/** a·b's sizes if the streamed kernel can compute it on this backend (whether or not b was seen). */
export function streamableShape(backend: WasmBackend, a: TensorInfo, b: TensorInfo): { m: number; depth: number; n: number } | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length > 3 || b.shape.length > 3) return undefined;
  // Batch dimensions, if any, of size 1: one product.
  if (tf.util.sizeFromShape(a.shape.slice(0, -2)) !== 1 || tf.util.sizeFromShape(b.shape.slice(0, -2)) !== 1) return undefined;
  const [m, depth] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  if (m % 4 !== 0 || n % 8 !== 0 || depth * n < STREAM_MIN_B || backendIsThreaded(backend)) return undefined;
  return { m, depth, n };
}
