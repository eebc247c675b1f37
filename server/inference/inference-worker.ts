// Inference-thread entry: holds the loaded model versions and runs their forward passes, so a
// batch of eight-view screenings or a Grad-CAM backward pass never stalls the main event loop.
// Requests are handled one at a time, in arrival order: an `unload` sent after the last `assess`
// of a version runs after it.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../ml/backend.js';
import { Classifier } from '../ml/classifier.js';
import { explanationMap } from '../ml/explain/explanation.js';
import { assessImages, scoreImageViews, ScreeningRules } from '../ml/screening.js';
import { tf } from '../ml/tf.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { InferenceReply, InferenceRequest, InferenceWorkerData, SerializedError } from './inference-protocol.js';

if (!parentPort) throw new Error('inference-worker.ts must run inside a worker thread');
const port = parentPort;
const { modelsDir, backend, screening } = workerData as InferenceWorkerData;
const registry = new ModelRegistry(modelsDir);
const loaded = new Map<string, { classifier: Classifier; rules: ScreeningRules }>();

const reply = (message: InferenceReply) => port.postMessage(message);

function serialize(error: unknown): SerializedError {
  const { code, reason } = (error ?? {}) as { code?: unknown; reason?: unknown };
  return {
    message: error instanceof Error ? error.message : String(error),
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}

function loadedVersion(version: string) {
  const entry = loaded.get(version);
  if (!entry) throw Object.assign(new Error(`model version ${version} is not loaded for inference`), { code: 'MODEL_NOT_READY' });
  return entry;
}

async function load(version: string) {
  const existing = loaded.get(version);
  if (existing) return existing.classifier.metadata;
  const { model, metadata } = await registry.load(version);
  const classifier = new Classifier(model, metadata);
  const rules = new ScreeningRules(metadata, screening);
  // The first real request should not pay for kernel set-up of either pass.
  assessImages(classifier, rules.guard, [new Uint8Array(metadata.imageSize * metadata.imageSize * 3)], rules.settings.views);
  loaded.set(version, { classifier, rules });
  return metadata;
}

async function handle(request: InferenceRequest): Promise<unknown> {
  switch (request.type) {
    case 'load':
      return load(request.version);
    case 'assess': {
      const { classifier, rules } = loadedVersion(request.version);
      return assessImages(classifier, rules.guard, request.images, rules.settings.views);
    }
    case 'scoreViews': {
      const { classifier, rules } = loadedVersion(request.version);
      return scoreImageViews(classifier, rules.guard, request.images, request.views);
    }
    case 'explain': {
      const { classifier } = loadedVersion(request.version);
      return explanationMap(classifier.model, request.pixels, classifier.metadata.imageSize, request.targetClass);
    }
    case 'memory': {
      const { numTensors, numBytes } = tf.memory();
      return { numTensors, numBytes };
    }
    case 'unload':
      loaded.get(request.version)?.classifier.dispose();
      loaded.delete(request.version);
      return undefined;
  }
}

const backendReady = initBackend(backend);
backendReady.then(
  (info) => reply({ type: 'ready', backend: info }),
  (error: unknown) => reply({ type: 'backend-failed', error: serialize(error) }),
);

async function answer(request: InferenceRequest): Promise<void> {
  let outcome: InferenceReply | null;
  try {
    await backendReady.catch((error: unknown) => {
      throw Object.assign(new Error(`no tfjs backend for inference: ${serialize(error).message}`), { code: 'INFERENCE_UNAVAILABLE' });
    });
    const value = await handle(request);
    outcome = 'id' in request ? { type: 'answer', id: request.id, value } : null;
  } catch (error) {
    outcome = 'id' in request ? { type: 'error', id: request.id, error: serialize(error) } : null;
  }
  if (outcome) reply(outcome);
}

let queue = Promise.resolve();
port.on('message', (request: InferenceRequest) => {
  queue = queue.then(() => answer(request));
});
