// Shared plumbing for this project's WASM kernels: calling the backend's own kernels on raw
// TensorInfos (no engine, no tensors, so nothing is tracked twice) and freeing what they return.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf.js';

export type WasmBackend = BackendWasm;
export type TensorInfo = tf.TensorInfo;
export type Attrs = tf.NamedAttrMap;

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: Attrs;
}

/** What a kernel replacement sees: its args plus the kernel it replaces, if WASM had one. */
export type ReplacementKernel = (args: KernelArgs, stock: tf.KernelFunc | undefined) => TensorInfo;

const stockConfigs = new Map<string, tf.KernelConfig>();

/**
 * The kernel WASM registered itself for `kernelName`, remembered on first sight so it stays
 * reachable after this project replaces it.
 */
export function stockKernelConfig(kernelName: string): tf.KernelConfig | undefined {
  let config = stockConfigs.get(kernelName);
  if (!config) {
    config = tf.getKernel(kernelName, 'wasm');
    if (config) stockConfigs.set(kernelName, config);
  }
  return config;
}

export function stockKernel(kernelName: string): tf.KernelFunc | undefined {
  return stockKernelConfig(kernelName)?.kernelFunc;
}

/** Runs one of the backend's own kernels; the caller owns (and must free) the result. */
export function runStock(kernelName: string, backend: WasmBackend, inputs: tf.NamedTensorInfoMap, attrs: Attrs = {}): TensorInfo {
  const func = stockKernel(kernelName);
  if (!func) throw new Error(`the WASM backend has no ${kernelName} kernel (is @tensorflow/tfjs-backend-wasm loaded?)`);
  return func({ inputs, backend, attrs }) as TensorInfo;
}

/** Frees intermediates made inside a kernel (reshapes share data, so this respects ref counts). */
export function release(backend: WasmBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function transpose(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runStock('Transpose', backend, { x }, { perm });
}

export function input(args: KernelArgs, name: string): TensorInfo {
  const info = args.inputs[name];
  if (!info) throw new Error(`kernel input '${name}' is missing`);
  return info;
}

/** The WASM backend when it is the one in use, else undefined. */
export function currentWasmBackend(): WasmBackend | undefined {
  return tf.getBackend() === 'wasm' ? (tf.backend() as WasmBackend) : undefined;
}

/** A float32 view of a tensor's bytes on the WASM heap; make it after the last allocation (the heap may move). */
export function heapView(backend: WasmBackend, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

export function asShape4(shape: number[]): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`expected a rank-4 shape, got [${shape.join(', ')}]`);
  return shape as [number, number, number, number];
}

/** x with one row and column of zeros around each image. */
export function padWithZeros(x: Float32Array, padded: Float32Array, batch: number, height: number, width: number, channels: number): void {
  padded.fill(0);
  const rowLength = width * channels;
  for (let b = 0; b < batch; b++) {
    for (let row = 0; row < height; row++) {
      const from = (b * height + row) * rowLength;
      padded.set(x.subarray(from, from + rowLength), ((b * (height + 2) + row + 1) * (width + 2) + 1) * channels);
    }
  }
}

/**
 * A 3x3 convolution with stride 1, no dilation and one pixel of zero padding on each side
 * ('same'), channels last: the shape this project's own convolution kernels are written for.
 */
export function isSame3x3(info: tf.backend_util.Conv2DInfo): boolean {
  const { padInfo } = info;
  return (
    info.dataFormat === 'channelsLast' &&
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    padInfo.top === 1 &&
    padInfo.bottom === 1 &&
    padInfo.left === 1 &&
    padInfo.right === 1
  );
}
