// Worker-thread entry: runs one training run off the main event loop and posts its events.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendOptions } from '../ml/backend.js';
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
