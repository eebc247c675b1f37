// The multi-threaded WASM build under Node. tfjs turns WASM threads off in Node because
// Emscripten starts its pthread workers from `blob:` URLs, which Node's Worker refuses
// (ERR_WORKER_PATH). Three small shims make the threaded build work:
//   1. a Worker class that starts those workers from the pthread worker script's source text
//      ({ eval: true }) and hands them the module's glue script by file path instead of a Blob;
//   2. the thread-support flag tfjs hard-codes to false under Node, set to true;
//   3. os.cpus() reporting 2 x threads while the module initialises: the C++ side caps its
//      thread pool at half the logical cores (it assumes hyper-threading), which is 1 here.
// Pthread workers never keep the process alive: they only ever wait for work.
import { createRequire } from 'node:module';
import type { CpuInfo } from 'node:os';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';
import { tf } from './tf.js';

const require = createRequire(import.meta.url);
const wasmOut = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd';

interface ThreadedBuildFiles {
  /** The Emscripten glue each pthread worker evaluates to join the shared module. */
  gluePath: string;
  /** Source of the pthread worker's entry script. */
  workerSource: string;
}

function threadedBuildFiles(): ThreadedBuildFiles {
  const gluePath = require.resolve(`${wasmOut}.js`);
  const { wasmWorkerContents } = require(`${wasmOut}.worker.js`) as { wasmWorkerContents?: unknown };
  if (typeof wasmWorkerContents !== 'string') throw new Error('the threaded WASM build has no pthread worker script');
  // tfjs escapes newlines the same way before turning the script into a Blob.
  return { gluePath, workerSource: wasmWorkerContents.replace(/\n/g, '\\n') };
}

function pthreadWorkerClass({ gluePath, workerSource }: ThreadedBuildFiles): typeof NodeWorker {
  return class PthreadWorker extends NodeWorker {
    constructor(script: string | URL, options?: WorkerOptions) {
      const fromBlob = String(script).startsWith('blob:');
      // A plain CommonJS script: no inherited flags (--input-type=module would make it ESM,
      // --import would load loader hooks into every pthread).
      super(fromBlob ? workerSource : script, fromBlob ? { eval: true, execArgv: [] } : options);
    }

    override postMessage(message: unknown, transferList?: Parameters<NodeWorker['postMessage']>[1]): void {
      // The worker imports its glue with fs.readFileSync, which cannot read a Blob.
      const load = message as { cmd?: unknown; urlOrBlob?: unknown } | null;
      if (load?.cmd === 'load' && typeof load.urlOrBlob !== 'string') message = { ...load, urlOrBlob: gluePath };
      super.postMessage(message, transferList);
    }

    // Emscripten refs a worker while its thread runs; a thread-pool thread runs for ever.
    override ref(): void {}
  };
}

let installed = false;

/** Makes `new Worker(blob:...)` inside the Emscripten glue start a Node worker it can run. */
function installPthreadWorker(files: ThreadedBuildFiles): void {
  if (installed) return;
  const PthreadWorker = pthreadWorkerClass(files);
  // The glue assigns Node's own Worker to the global when it loads; keep ours.
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => {} });
  installed = true;
}

/** Runs `init` while os.cpus() reports `count` CPUs. */
async function withReportedCpuCount<T>(count: number, init: () => Promise<T>): Promise<T> {
  const os = require('node:os') as { cpus: () => CpuInfo[] };
  const realCpus = os.cpus;
  const first = realCpus()[0];
  os.cpus = () => Array.from({ length: count }, () => first as CpuInfo);
  try {
    return await init();
  } finally {
    os.cpus = realCpus;
  }
}

/**
 * Initialises the 'wasm' backend with its threaded build and `threads` compute threads.
 * Resolves to the thread count the backend really uses. Throws, changing nothing, when this
 * tfjs version lacks the files the shims need.
 */
export async function setThreadedWasmBackend(threads: number): Promise<number> {
  const files = threadedBuildFiles();
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  installPthreadWorker(files);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  const ok = await withReportedCpuCount(2 * threads, () => tf.setBackend('wasm'));
  if (!ok) throw new Error('the threaded WASM backend failed to initialise');
  return wasm.getThreadsCount();
}
