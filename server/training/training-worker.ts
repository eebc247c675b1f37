// Worker-thread entry: runs one training run off the main event loop and posts its events.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendOptions } from '../ml/backend.js';
import { lowerThreadPriority } from '../util/thread-priority.js';
import { runTraining } from './pipeline.js';
import type { TrainingEvent, TrainingRequest } from './training-events.js';

interface WorkerInput {
  request: TrainingRequest;
  backend: BackendOptions;
}

if (!parentPort) throw new Error('training-worker.ts must run inside a worker thread');
const port = parentPort;
const { request, backend } = workerData as WorkerInput;
const abort = new AbortController();

port.on('message', (message: { type: string }) => {
  if (message.type === 'cancel') abort.abort();
});

const emit = (event: TrainingEvent) => port.postMessage(event);

// Training is background work beside the API: at nice 10 (the replica threads started from this
// one inherit it) it still takes every idle cycle, but classifications no longer wait for it.
// 8 clients during a run: ~229 img/s at p50 34 ms, as on an idle server, against 144-150 at
// 52-54 ms at equal priority; alone, a run is as fast as before (docs/performance.md).
const TRAINING_NICE = 10;
lowerThreadPriority(TRAINING_NICE);

try {
  await initBackend(backend);
  await runTraining(request, emit, abort.signal);
} catch (error) {
  if (!abort.signal.aborted) {
    const code = (error as { code?: unknown }).code;
    emit({
      type: 'failed',
      code: typeof code === 'string' ? code : 'TRAINING_FAILED',
      message: error instanceof Error ? error.message : String(error),
    });
  }
} finally {
  port.close();
}
