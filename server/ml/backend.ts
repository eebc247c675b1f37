// Chooses the tfjs backend once per thread: tfjs-node when its native library loads,
// else WASM (with this project's training kernels), and the slow pure-JS `cpu` only on request.
import os from 'node:os';
import { createRequire } from 'node:module';
import { tf } from './tf.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** Threads the backend computes with (WASM under Node is single-threaded per isolate). */
  threads: number;
  simd: boolean;
  /** Why a preferred backend was not used, for the logs and the API. */
  fallbackReason?: string;
}

export interface BackendOptions {
  /** `auto` tries tensorflow, then wasm. `cpu` is never chosen automatically. */
  preferred?: BackendName | 'auto';
  threads?: number;
}

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

const require = createRequire(import.meta.url);

async function tryTensorflow(): Promise<string | undefined> {
  try {
    // tfjs-node registers the 'tensorflow' backend into the shared engine as a side effect.
    require('@tensorflow/tfjs-node');
    if (!(await tf.setBackend('tensorflow'))) return 'tfjs-node loaded but its backend did not initialise';
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return `@tensorflow/tfjs-node unavailable (${message})`;
  }
}

async function initWasm(threads: number): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Ignored by tfjs under Node today (it disables WASM threads there), honoured where supported.
  wasm.setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('the WASM backend failed to initialise');
  const { registerWasmTrainingKernels } = await import('./kernels/index.js');
  registerWasmTrainingKernels();
}

async function select(options: BackendOptions): Promise<BackendInfo> {
  const preferred = options.preferred ?? 'auto';
  const threads = Math.max(1, options.threads ?? os.availableParallelism());
  let fallbackReason: string | undefined;

  if (preferred === 'auto' || preferred === 'tensorflow') {
    fallbackReason = await tryTensorflow();
    if (!fallbackReason) return { name: 'tensorflow', threads, simd: true };
    if (preferred === 'tensorflow') throw new Error(fallbackReason);
  }
  if (preferred === 'cpu') {
    await tf.setBackend('cpu');
    return { name: 'cpu', threads: 1, simd: false };
  }
  await initWasm(threads);
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  return { name: 'wasm', threads: wasm.getThreadsCount(), simd, fallbackReason };
}

/** Initialises the backend for this thread (idempotent: later calls return the first choice). */
export function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  pending ??= select(options).then((info) => {
    current = info;
    return info;
  });
  return pending;
}

/** The backend chosen by `initBackend`; throws when called before it. */
export function backendInfo(): BackendInfo {
  if (!current) throw new Error('initBackend() has not completed');
  return current;
}

export function describeBackend(info: BackendInfo): string {
  const simd = info.name === 'wasm' ? (info.simd ? ', SIMD' : ', no SIMD') : '';
  const why = info.fallbackReason ? ` (${info.fallbackReason})` : '';
  return `${info.name}, ${info.threads} thread${info.threads === 1 ? '' : 's'}${simd}${why}`;
}
