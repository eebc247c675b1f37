// The kernels of kernels.wat, instantiated on the WASM backend's own memory so they work on
// tensors where they lie. One instance per memory (each worker thread has its backend and
// memory); undefined when the engine cannot run them, and callers fall back to JS loops.
// The threaded build's memory is shared; its SIMD threads never run while a JS kernel does,
// so these need no atomics.
import type { WasmBackend } from '../wasm-kernel-utils.js';
import { kernelsWasmBase64, sharedMemoryKernelsWasmBase64 } from './kernels.wasm.js';

export interface SimdKernels {
  /** See kernels.wat; pointers are byte offsets into the backend's memory. */
  maxPoolGrad2x2(x: number, dy: number, dx: number, batch: number, inHeight: number, inWidth: number, channels: number, outHeight: number, outWidth: number): void;
  sumRows(x: number, out: number, scratch: number, rows: number, width: number): void;
  reluGrad(dy: number, x: number, dx: number, count: number): void;
  winogradInput(padded: number, planes: number, batch: number, tilesY: number, tilesX: number, channels: number): void;
  rgbFilterGradient(padded: number, dy: number, scratch: number, dw: number, batch: number, height: number, width: number, outChannels: number): void;
  matMul(a: number, b: number, c: number, m: number, depth: number, n: number, chunk: number): void;
  matMulTransposedA(a: number, b: number, c: number, depth: number, m: number, n: number, chunk: number, accumulate: number): void;
  winogradOutputGradient(dy: number, planes: number, batch: number, tilesY: number, tilesX: number, channels: number): void;
  winogradOutput(planes: number, bias: number, y: number, batch: number, tilesY: number, tilesX: number, channels: number, hasBias: number, relu: number): void;
  adamStep(
    weights: number, weightsOut: number, gradient0: number, gradient1: number, gradients: number, summed: number, firstMoment: number, secondMoment: number, count: number,
    beta1: number, beta2: number, stepSize: number, inverseCorrection2: number, epsilon: number, shrink: number,
  ): void;
}

// The parts of the WebAssembly API used here (the project's TypeScript libs do not declare them).
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: abstract new (...args: never[]) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

// Compiled once per variant: null when this engine cannot (no WebAssembly SIMD).
const compiled = new Map<boolean, object | null>();
const instances = new WeakMap<object, SimdKernels | null>();

function compiledModule(sharedMemory: boolean): object | null {
  let module = compiled.get(sharedMemory);
  if (module === undefined) {
    try {
      module = new wasmApi.Module(Buffer.from(sharedMemory ? sharedMemoryKernelsWasmBase64 : kernelsWasmBase64, 'base64'));
    } catch {
      module = null;
    }
    compiled.set(sharedMemory, module);
  }
  return module;
}

/**
 * The backend's WebAssembly.Memory: Emscripten exports it as `asm.memory` in the single-threaded
 * build and keeps it as `wasmMemory` in the threaded one (where it is shared).
 */
function backendMemory(backend: WasmBackend): WasmMemory | undefined {
  const wasm = backend.wasm as unknown as { asm?: { memory?: unknown }; wasmMemory?: unknown };
  const memory = wasm.asm?.memory ?? wasm.wasmMemory;
  return memory instanceof wasmApi.Memory ? (memory as WasmMemory) : undefined;
}

export function simdKernels(backend: WasmBackend): SimdKernels | undefined {
  const memory = backendMemory(backend);
  return memory ? simdKernelsOn(memory) : undefined;
}

/** A WebAssembly.Memory, as far as these kernels need one. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}

/** The kernels on any WebAssembly.Memory (the data-parallel optimizer's shared one, say). */
export function simdKernelsOn(memory: WasmMemory): SimdKernels | undefined {
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    const module = compiledModule(memory.buffer instanceof SharedArrayBuffer);
    try {
      kernels = module ? (new wasmApi.Instance(module, { env: { memory } }).exports as SimdKernels) : null;
    } catch {
      kernels = null; // a memory whose limits this module's import does not accept
    }
    instances.set(memory, kernels);
  }
  return kernels ?? undefined;
}

/**
 * Whether the backend is the threaded build (its memory is shared), where XNNPACK spreads
 * each operation over several threads while these kernels run on one.
 */
export function backendIsThreaded(backend: WasmBackend): boolean {
  return backendMemory(backend)?.buffer instanceof SharedArrayBuffer;
}

/** Byte offset of a tensor's data in the backend's memory. */
export function heapOffset(backend: WasmBackend, info: { dataId: object }): number {
  return backend.dataIdMap.get(info.dataId)!.memoryOffset;
}
