// Kernels the WASM backend lacks, gets wrong, runs as slow scalar loops or runs with needless
// copies (Slice, Identity, a large fresh matrix packed for XNNPACK) when training or serving a CNN.
// Replacements work on raw TensorInfos - calling WASM's own kernels (mostly XNNPACK), this
// project's SIMD kernels (simd/kernels.wat) or JS loops over the WASM heap - so they create no
// tensors and free every intermediate they make.
import { tf } from '../tf.js';
import * as backpropFilter from './conv2d-backprop-filter.js';
import * as backpropInput from './conv2d-backprop-input.js';
import * as matMul from './batch-mat-mul.js';
import * as maxPoolGrad from './max-pool-grad.js';
import * as sum from './sum.js';
import * as relu from './relu-grad.js';
import * as identity from './identity.js';
import * as slice from './slice.js';
import * as conv from './conv2d.js';
import { stockKernelConfig, type KernelArgs, type ReplacementKernel, type TensorInfo } from './wasm-kernel-utils.js';

const replacements: ReadonlyArray<{ kernelName: string; kernel: ReplacementKernel }> = [
  { kernelName: backpropFilter.kernelName, kernel: backpropFilter.conv2dBackpropFilter },
  { kernelName: backpropInput.kernelName, kernel: backpropInput.conv2dBackpropInput },
  { kernelName: matMul.kernelName, kernel: matMul.batchMatMul },
  { kernelName: maxPoolGrad.kernelName, kernel: maxPoolGrad.maxPoolGrad },
  { kernelName: sum.kernelName, kernel: sum.sum },
  { kernelName: relu.kernelName, kernel: relu.reluGrad },
  { kernelName: identity.kernelName, kernel: identity.identity },
  { kernelName: slice.kernelName, kernel: slice.slice },
  { kernelName: conv.kernelName, kernel: conv.conv2d },
  { kernelName: conv.fusedKernelName, kernel: conv.fusedConv2d },
];

/** Names of the kernels `registerWasmKernelReplacements` installs for the 'wasm' backend. */
export const wasmKernelReplacementNames: readonly string[] = replacements.map((r) => r.kernelName);

// Marks our kernelFuncs so a second copy of this module (or a second call) never takes them for stock ones.
const ours = Symbol.for('skin-cancer-detection.wasm-kernel-replacement');
type MarkedKernelFunc = tf.KernelFunc & { [ours]?: true };

function isOurs(kernelName: string): boolean {
  return Boolean((tf.getKernel(kernelName, 'wasm')?.kernelFunc as MarkedKernelFunc | undefined)?.[ours]);
}

/**
 * Installs the replacement kernels (for training and inference) on the 'wasm' backend.
 * Idempotent; call after the backend loaded.
 */
export function registerWasmKernelReplacements(): void {
  if (!tf.getKernel('Conv2D', 'wasm')) {
    throw new Error('the WASM backend is not loaded: import @tensorflow/tfjs-backend-wasm first');
  }
  for (const { kernelName, kernel } of replacements) {
    if (isOurs(kernelName)) continue;
    const stock = stockKernelConfig(kernelName);
    const kernelFunc: MarkedKernelFunc = (params): TensorInfo => kernel(params as unknown as KernelArgs, stock?.kernelFunc);
    kernelFunc[ours] = true;
    if (stock) tf.unregisterKernel(kernelName, 'wasm');
    // The stock setup still has to run if the backend is ever re-initialised: replacements call it.
    tf.registerKernel({ ...stock, kernelName, backendName: 'wasm', kernelFunc });
  }
  relu.registerReluGradient();
}

/** Puts WASM's own kernels back (and removes the ones it never had), e.g. to measure the difference. */
export function unregisterWasmKernelReplacements(): void {
  for (const { kernelName } of replacements) {
    if (!isOurs(kernelName)) continue;
    tf.unregisterKernel(kernelName, 'wasm');
    const stock = stockKernelConfig(kernelName);
    if (stock) tf.registerKernel(stock);
  }
  relu.unregisterReluGradient();
}
