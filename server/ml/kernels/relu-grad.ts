// Gradient of ReLU as one kernel: tfjs's own gradient is dy * cast(step(x)), three passes over
// the activation and two temporaries per layer; this is one SIMD pass with the same result.
// `registerReluGradient` points the Relu gradient at it while the WASM backend is active.
import { tf } from '../tf.js';
import { heapView, input, type KernelArgs, type TensorInfo } from './wasm-kernel-utils.js';
import { heapOffset, simdKernels } from './simd/simd-kernels.js';

export const kernelName = 'ReluGrad';

export function reluGrad(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const dy = input(args, 'dy');
  const x = input(args, 'x');
  if (dy.dtype !== 'float32' || x.dtype !== 'float32') throw new Error(`${kernelName} supports only float32`);
  if (!tf.util.arraysEqual(dy.shape, x.shape)) throw new Error(`${kernelName}: dy [${dy.shape}] and x [${x.shape}] differ`);
  const dx = backend.makeOutput(x.shape, 'float32');
  const count = tf.util.sizeFromShape(x.shape);
  const simd = simdKernels(backend);
  const vectorised = simd ? count - (count % 4) : 0;
  if (simd && vectorised > 0) simd.reluGrad(heapOffset(backend, dy), heapOffset(backend, x), heapOffset(backend, dx), vectorised);
  const dys = heapView(backend, dy);
  const xs = heapView(backend, x);
  const dxs = heapView(backend, dx);
  for (let i = vectorised; i < count; i++) {
    const v = xs[i]!;
    dxs[i] = dys[i]! * (v > 0 ? 1 : Number.isNaN(v) ? Number.NaN : 0);
  }
  return dx;
}

const stockGradient = tf.getGradient('Relu');

/**
 * Routes the Relu gradient of float32 tensors to `ReluGrad` when the WASM backend runs it, and
 * to tfjs's own formula elsewhere (gradients are registered for every backend at once).
 */
export function registerReluGradient(): void {
  if (!stockGradient) throw new Error('tfjs has no Relu gradient to replace');
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      if (tf.getBackend() !== 'wasm' || x!.dtype !== 'float32' || !tf.getKernel(kernelName, 'wasm')) return stockGradient.gradFunc(dy, saved, {});
      return { x: () => tf.engine().runKernel(kernelName, { dy: dy as tf.Tensor, x: x! }) as tf.Tensor };
    },
  });
}

export function unregisterReluGradient(): void {
  if (stockGradient) tf.registerGradient(stockGradient);
}
