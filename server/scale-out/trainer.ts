// A trainer worker: takes training jobs from the queue one at a time and executes them like the
// single-process server does (the same run execution, in a worker thread), recording into the
// shared run store and publishing progress and new active versions over Redis. Cancel requests
// arrive over Redis too. While a run trains in its thread, this process's event loop stays free
// to renew the job's lock, so bullmq takes the worker for dead only when it is.
import { Worker } from 'bullmq';
import type { Config } from '../config.js';
import { CANCEL_TRAINING, MODEL_ACTIVATED, progressPublisher } from '../graphql/progress-pubsub.js';
import type { Logger } from '../http/logger.js';
import { RunStore } from '../store/run-store.js';
import { executeRun, type RunExecution } from '../training/run-execution.js';
import { connectRedis, redactedUrl, redisPubSub } from './redis-connections.js';
import { TRAINING_QUEUE, type TrainingJobData, type TrainingJobResult } from './training-queue.js';

export interface Trainer {
  /** Cancels the run in progress (recorded as cancelled) and stops taking jobs. */
  close(): Promise<void>;
}

/** How long a cancelled run may take to stop at shutdown before its thread is ended. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function startTrainer(config: Config, log: Logger): Promise<Trainer> {
  if (!config.redisUrl) throw new Error('a trainer worker needs REDIS_URL (the job queue and pub/sub it works through)');
  const store = RunStore.open(config.storeFile);
  const shared = redisPubSub(config.redisUrl, 'trainer');
  const publish = progressPublisher(shared.pubSub);
  const executing = new Map<string, RunExecution>();

  const cancelRequests = shared.pubSub.subscribe(CANCEL_TRAINING);
  void (async () => {
    for await (const { runId } of cancelRequests) {
      const execution = executing.get(runId);
      if (execution) {
        log.info(`training run ${runId}: cancel requested`);
        execution.job.cancel();
      }
    }
  })();

  const connection = connectRedis(config.redisUrl, 'blocking', 'trainer:worker');
  const worker = new Worker<TrainingJobData, TrainingJobResult>(
    TRAINING_QUEUE,
    async (job) => {
      const run = store.get(job.data.runId);
      // Cancelled while waiting, or already handled: nothing to do.
      if (!run || run.status !== 'queued') return { status: `skipped (${run?.status ?? 'no such run'})` };
      log.info(`training run ${run.id}: started (${run.params.architecture}, ${run.params.imageSize}px, ${run.params.epochs} epochs)`);
      const execution = executeRun(
        {
          store,
          publish,
          dataDir: config.datasetsDir,
          modelsDir: config.modelsDir,
          backend: { preferred: config.backend, threads: config.threads },
          imageLimits: { maxPixels: config.maxImagePixels, minSide: config.minImageSide },
          // Every replica reloads the new active version from the shared models folder.
          onActivated: async (version) => {
            await shared.pubSub.publish(MODEL_ACTIVATED, { version });
          },
        },
        run,
      );
      executing.set(run.id, execution);
      try {
        const final = await execution.finished;
        log.info(`training run ${run.id}: ${final.status}${final.modelVersion ? ` (${final.modelVersion}${final.activated ? ', now active' : ''})` : ''}${final.errorMessage ? `: ${final.errorMessage}` : ''}`);
        return { status: final.status, modelVersion: final.modelVersion };
      } finally {
        executing.delete(run.id);
      }
    },
    {
      connection,
      concurrency: 1,
      lockDuration: config.trainingLockMs,
      stalledInterval: config.trainingLockMs,
      // A run is not retried: a worker that died mid-run fails it, and the user decides.
      maxStalledCount: 0,
    },
  );
  worker.on('error', (error) => log.error('training queue', error));
  await worker.waitUntilReady();
  log.info(`trainer worker ready: taking training jobs from ${redactedUrl(config.redisUrl)} (models ${config.modelsDir}, runs ${config.storeFile})`);

  return {
    async close() {
      for (const execution of executing.values()) {
        execution.job.cancel();
        const timer = setTimeout(() => void execution.job.terminate(), SHUTDOWN_GRACE_MS);
        await execution.finished.catch(() => undefined);
        clearTimeout(timer);
      }
      await worker.close();
      connection.disconnect();
      await cancelRequests.return?.();
      await shared.close();
      store.close();
    },
  };
}
