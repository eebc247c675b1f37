// Matrix product with transposed operands. WASM sends transposeA/transposeB to a scalar C++ loop
// but the plain product to XNNPACK, so operands are transposed explicitly first - or, when that
// moves less data, the product is computed the other way round and its result transposed:
// op(A)·op(B) = (op(B)ᵀ·op(A)ᵀ)ᵀ.
import { tf } from '../tf.js';
import { input, release, transpose, type Attrs, type KernelArgs, type TensorInfo, type WasmBackend } from './wasm-kernel-utils.js';

export const kernelName = 'BatchMatMul';

export function batchMatMul(args: KernelArgs, stock: tf.KernelFunc | undefined): TensorInfo {
  if (!stock) throw new Error(`the WASM backend has no stock ${kernelName} kernel to build on`);
  const { backend, attrs } = args;
  const a = input(args, 'a');
  const b = input(args, 'b');
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  if (!transposeA && !transposeB) return stock(args) as TensorInfo;

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
