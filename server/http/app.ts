// The whole service wired together: model registry and service (its inference threads pick the backend), run store, training,
// and the HTTP server. Used by server/index.ts and by the API tests, so both run the same thing.
import { screeningSettings, type Config } from '../config.js';
import type { InferencePool } from '../inference/inference-pool.js';
import { describeBackend } from '../ml/backend-info.js';
import { ModelRegistry } from '../registry/model-registry.js';
import { summarizeDataset } from '../services/dataset-summary.js';
import { DatasetService } from '../services/dataset-service.js';
import { FeedbackService } from '../services/feedback-service.js';
import { openDatasetRecords } from '../store/dataset-records.js';
import { ModelService } from '../services/model-service.js';
import { TrainingService, type TrainingControl } from '../services/training-service.js';
import { openRunStoreSafely } from '../store/run-store.js';
import type { AppServices } from '../graphql/context.js';
import { createProgressPubSub, MODEL_ACTIVATED, progressPublisher } from '../graphql/progress-pubsub.js';
import { consoleLogger, type Logger } from './logger.js';
import { createServer, type RunningServer } from './server.js';

export interface RunningApp {
  server: RunningServer;
  services: AppServices;
  /** Resolves when the start-up model load has finished (ready or not: see modelStatus). */
  modelLoaded: Promise<void>;
  /** Stops the server (in-flight requests finish), cancels training, closes the store. */
  close(): Promise<void>;
}

/** `inference`: threads started earlier for `config.modelsDir` (server/index.ts starts them first thing). */
export async function startApp(config: Config, options: { log?: Logger; inference?: InferencePool } = {}): Promise<RunningApp> {
  const log = options.log ?? consoleLogger;
  const imageLimits = { maxPixels: config.maxImagePixels, minSide: config.minImageSide };
  const registry = await ModelRegistry.open(config.modelsDir);
  const batching = { maxBatch: config.classifyMaxBatch, maxDelayMs: config.classifyMaxDelayMs, maxPending: config.classifyMaxPending };
  const backendOptions = { preferred: config.backend, threads: config.threads };
  // One process: events in memory. Scaled out (REDIS_URL): over Redis, shared with the other
  // replicas and the trainer workers.
  // Loaded only then, so the single-process default never loads the Redis client or the queue.
  const scaleOut = config.redisUrl ? await import('../scale-out/redis-connections.js') : null;
  const shared = config.redisUrl && scaleOut ? scaleOut.redisPubSub(config.redisUrl, 'api') : null;
  const pubSub = shared?.pubSub ?? createProgressPubSub();
  const models = new ModelService({
    registry,
    backend: backendOptions,
    imageLimits,
    batching,
    screening: screeningSettings(config),
    onInferenceRestart: (message) => log.error(message),
    inference: options.inference,
    onActivated: (version) => void pubSub.publish(MODEL_ACTIVATED, { version }),
  });
  // A version made active anywhere (a worker's run, promote/rollback on another replica) is served here too.
  const activations = pubSub.subscribe(MODEL_ACTIVATED);
  void (async () => {
    for await (const { version } of activations) {
      await models.reloadActive();
      const now = models.status().activeVersion;
      if (now === version) log.info(`model ${version} activated: now serving it`);
    }
  })();
  // In the background: the server answers (MODEL_NOT_READY, /readyz 503) while the model loads.
  const modelLoaded = models.start().then(() => {
    const status = models.status();
    if (status.ready) log.info(`model ${status.activeVersion} ready (${status.imageSize}px)`);
    else log.warn(`no model serves: ${status.reason}`);
  });

  const { store: runs, problem } = openRunStoreSafely(config.storeFile);
  if (problem) log.warn(`run store: ${problem}`);
  const publish = progressPublisher(pubSub);
  let training: TrainingControl;
  if (config.redisUrl && scaleOut) {
    const { QueuedTrainingService } = await import('../scale-out/queued-training-service.js');
    // Runs belong to the trainer workers; a dead worker's run is failed through the job queue.
    training = new QueuedTrainingService({ redisUrl: config.redisUrl, store: runs, models, dataDir: config.datasetsDir, pubSub, publish, log });
    log.info(`scaled out: training runs go through the job queue at ${scaleOut.redactedUrl(config.redisUrl)} (start trainer workers with npm run worker)`);
  } else {
    const interrupted = runs.markInterrupted();
    if (interrupted > 0) log.warn(`${interrupted} training run(s) left open by a previous process marked interrupted`);
    training = new TrainingService({
      store: runs,
      models,
      dataDir: config.datasetsDir,
      modelsDir: config.modelsDir,
      backend: backendOptions,
      imageLimits,
      publish,
    });
  }
  const records = openDatasetRecords(config.storeFile);
  const datasets = new DatasetService({
    root: config.datasetsDir,
    limits: imageLimits,
    facts: records.facts,
    nearDuplicateDistance: config.nearDuplicateDistance,
    maxImageBytes: config.maxUploadBytes,
    maxArchiveFiles: config.maxArchiveFiles,
  });
  await datasets.folder.removeStaleTemps();
  const feedback = new FeedbackService({
    store: records.feedback,
    datasets,
    dir: config.feedbackDir,
    keepImages: config.keepClassifiedImages,
    retentionHours: config.keptImageHours,
    limits: imageLimits,
  });
  // The inference thread has been starting its backend since the service was created.
  let backend;
  try {
    backend = await models.backend();
  } catch (error) {
    await modelLoaded;
    await training.shutdown();
    await activations.return?.();
    await shared?.close();
    await models.close();
    runs.close();
    records.close();
    throw error;
  }
  log.info(`tfjs backend (inference thread): ${describeBackend(backend)}`);
  const services: AppServices = { models, training, runs, backend, pubSub, dataset: () => summarizeDataset(config.datasetsDir), datasets, feedback };

  let server: RunningServer;
  try {
    server = await createServer(config, services, { log });
  } catch (error) {
    runs.close();
    records.close();
    throw error;
  }
  log.info(`GraphQL at ${server.url} (WebSocket ${server.wsUrl}); admin operations ${config.adminToken ? 'enabled' : 'disabled (ADMIN_TOKEN unset)'}; classification ${config.classifyToken ? 'needs a token' : 'open'}`);

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    await server.close();
    await training.shutdown();
    await activations.return?.();
    await shared?.close();
    await modelLoaded;
    await models.close();
    runs.close();
    records.close();
  };
  return { server, services, modelLoaded, close: () => (closing ??= close()) };
}
