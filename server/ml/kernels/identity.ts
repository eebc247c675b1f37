// Identity without a copy. tfjs clones every tensor it saves for the backward pass through this
// kernel, and WASM's own copies the whole activation each time (~2 % of a training step of the
// original CNN). Sharing the data, as Reshape and the cpu backend's Identity already do, is safe
// because tensor data is never written in place (a Variable's assign swaps its data instead).
import { input, type KernelArgs, type TensorInfo } from './wasm-kernel-utils.js';
import type { tf } from '../tf.js';

export const kernelName = 'Identity';

export function identity(args: KernelArgs, stock: tf.KernelFunc | undefined): TensorInfo {
  const x = input(args, 'x');
  if (x.dtype === 'string') {
    if (!stock) throw new Error(`the WASM backend has no stock ${kernelName} kernel for strings`);
    return stock(args) as TensorInfo;
  }
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
