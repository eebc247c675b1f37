// Worker-thread entry of the benchmark's single-thread baseline: its own tfjs with a one-thread
// WASM backend, measuring on request so the benchmark can alternate it with the N-thread runs.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../ml/backend.js';
import type { Classifier } from '../ml/classifier.js';
import { batchInferenceImagesPerSecond, benchClassifier, trainingImagesPerSecond, type BenchShape } from './bench-measure.js';

export type SingleThreadRequest = 'train' | 'infer';
/** 'ready' once, then images/s for each request, in order. */
export type SingleThreadReply = 'ready' | number;

if (!parentPort) throw new Error('bench-single-thread.ts must run inside a worker thread');
const port = parentPort;
const shape = workerData as BenchShape;
let classifier: Classifier | undefined;

await initBackend({ preferred: 'wasm', threads: 1 });
port.on('message', async (request: SingleThreadRequest) => {
  if (request === 'train') {
    port.postMessage((await trainingImagesPerSecond(shape, 1)) satisfies SingleThreadReply);
  } else {
    classifier ??= benchClassifier(shape);
    port.postMessage(batchInferenceImagesPerSecond(classifier, shape) satisfies SingleThreadReply);
  }
});
port.postMessage('ready' satisfies SingleThreadReply);
