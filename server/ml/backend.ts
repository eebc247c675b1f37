// Chooses the tfjs backend once per thread: tfjs-node when its native library loads,
// else WASM (with this project's own kernels), and the slow pure-JS `cpu` only on request.
import os from 'node:os';
import { createRequire } from 'node:module';
import { tf } from './tf.js';
import { setThreadedWasmBackend } from './wasm-threads.js';

export type { BackendInfo, BackendName, BackendOptions } from './backend-info.js';
export { describeBackend } from './backend-info.js';
import type { BackendInfo, BackendName, BackendOptions } from './backend-info.js';

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;
/** Threads the user allows (TF_THREADS, else every core), whether or not the backend uses them all. */
let threadBudget = 1;

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

/** Loads WASM with this project's own kernels; resolves to the threads it computes with. */
async function initWasm(threads: number): Promise<{ threads: number; fallbackReason?: string }> {
  await import('@tensorflow/tfjs-backend-wasm');
  let result: { threads: number; fallbackReason?: string } = { threads: 1 };
  // The threaded build exists only with SIMD.
  if (threads > 1 && (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) {
    try {
      result = { threads: await setThreadedWasmBackend(threads) };
    } catch (error) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      result = { threads: 1, fallbackReason: `WASM threads unavailable (${error instanceof Error ? error.message : String(error)})` };
    }
  }
  if (tf.getBackend() !== 'wasm' && !(await tf.setBackend('wasm'))) throw new Error('the WASM backend failed to initialise');
  const { registerWasmKernelReplacements } = await import('./kernels/index.js');
  registerWasmKernelReplacements();
  return result;
}

async function select(options: BackendOptions): Promise<BackendInfo> {
  const preferred = options.preferred ?? 'auto';
  const threads = Math.max(1, options.threads ?? os.availableParallelism());
  threadBudget = threads;
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
  const wasm = await initWasm(threads);
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  return { name: 'wasm', threads: wasm.threads, simd, fallbackReason: [fallbackReason, wasm.fallbackReason].filter(Boolean).join('; ') || undefined };
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

/**
 * Replica threads for data-parallel training: the thread budget on WASM, 1 elsewhere
 * (tfjs-node already trains on every core; the cpu backend is for reference runs only).
 */
export function trainingThreads(): number {
  return current?.name === 'wasm' ? threadBudget : 1;
}
