// Starts a worker thread on one of this project's modules, from compiled output or from source.
import { Worker } from 'node:worker_threads';

/**
 * `moduleUrl` names the module as compiled (`.js`); from source the `.ts` beside it runs instead.
 * Node 20 does not apply `--import tsx` to a worker's entry module, so from source a tiny
 * bootstrap registers tsx's hooks in the new thread first (its plain entry only does so on the
 * main thread).
 */
export function startModuleWorker(moduleUrl: URL, workerData: unknown): Worker {
  const runningFromSource = import.meta.url.endsWith('.ts');
  if (!runningFromSource) return new Worker(moduleUrl, { workerData });
  const sourceUrl = new URL(moduleUrl.href.replace(/\.js$/, '.ts'));
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(sourceUrl.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
