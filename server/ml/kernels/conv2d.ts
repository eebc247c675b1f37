// Forward 2-D convolution: 3x3 stride-1 'same' convolutions over multiples of 4 channels go by
// Winograd (winograd.ts); the rest, and engines without SIMD, stay with WASM's own (XNNPACK).
// Training runs the plain Conv2D (bias and activation come after it as their own ops),
// inference the fused one with bias and ReLU applied in the output transform.
// On the threaded build a single image stays with XNNPACK: its direct convolution uses both
// threads while the transforms use one, and the fixed costs dominate (96 px, 48x48 32 -> 64
// channels: 0.98 ms direct against 1.88; from 2 images on Winograd wins, 1.52 against 1.95).
// On one thread Winograd wins from one image.
import { tf } from '../tf.js';
import { asShape4, input, type KernelArgs, type TensorInfo } from './wasm-kernel-utils.js';
import { winogradApplies, winogradConv3x3 } from './winograd.js';
import { backendIsThreaded } from './simd/simd-kernels.js';

export const kernelName = 'Conv2D';
export const fusedKernelName = 'FusedConv2D';

function convInfo(args: KernelArgs, x: TensorInfo, filter: TensorInfo): tf.backend_util.Conv2DInfo {
  const { attrs } = args;
  return tf.backend_util.computeConv2DInfo(
    asShape4(x.shape),
    asShape4(filter.shape),
    attrs.strides as number | [number, number],
    (attrs.dilations as number | [number, number] | undefined) ?? 1,
    attrs.pad as 'same' | 'valid' | number | tf.backend_util.ExplicitPadding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC'),
  );
}

/** Whether x holds enough images for Winograd to pay (see above). */
function batchLargeEnough(args: KernelArgs, x: TensorInfo): boolean {
  return x.shape.length === 4 && (x.shape[0]! >= 2 || !backendIsThreaded(args.backend));
}

function fallback(args: KernelArgs, stock: tf.KernelFunc | undefined, name: string): TensorInfo {
  if (!stock) throw new Error(`the WASM backend has no stock ${name} kernel to fall back on`);
  return stock(args) as TensorInfo;
}

export function conv2d(args: KernelArgs, stock: tf.KernelFunc | undefined): TensorInfo {
  const x = input(args, 'x');
  const filter = input(args, 'filter');
  if (batchLargeEnough(args, x) && winogradApplies(convInfo(args, x, filter), x, filter)) {
    const y = winogradConv3x3(args.backend, x, filter);
    if (y) return y;
  }
  return fallback(args, stock, kernelName);
}

export function fusedConv2d(args: KernelArgs, stock: tf.KernelFunc | undefined): TensorInfo {
  const x = input(args, 'x');
  const filter = input(args, 'filter');
  const bias = args.inputs.bias;
  const activation = (args.attrs.activation as string | undefined) ?? 'linear';
  const simpleEpilogue = (activation === 'linear' || activation === 'relu') && !args.inputs.preluActivationWeights;
  const biasPerChannel = !bias || (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === filter.shape[3]);
  if (batchLargeEnough(args, x) && simpleEpilogue && biasPerChannel && winogradApplies(convInfo(args, x, filter), x, filter)) {
    const y = winogradConv3x3(args.backend, x, filter, { bias, relu: activation === 'relu' });
    if (y) return y;
  }
  return fallback(args, stock, fusedKernelName);
}
