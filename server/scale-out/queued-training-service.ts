// Training control for an API replica of a scaled-out deployment: a started run is recorded in
// the shared run store and enqueued; whichever trainer worker takes it executes it and
// publishes its progress over Redis. A run whose worker dies (bullmq's stalled-job check, run
// by the other workers) is marked failed here, by the first replica that hears of it.
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { CANCEL_TRAINING, type ProgressPubSub } from '../graphql/progress-pubsub.js';
import type { Logger } from '../http/logger.js';
import { hasTrainingImages } from '../services/dataset-summary.js';
import type { ModelService } from '../services/model-service.js';
import { ServiceError } from '../services/service-error.js';
import { parseTrainingInput, type TrainingControl, type TrainingInput, type TrainingProgressEvent } from '../services/training-service.js';
import type { RunStore, RunTrigger, TrainingRunRecord } from '../store/run-store.js';
import { finishedEvent } from '../training/run-execution.js';
import { connectRedis } from './redis-connections.js';
import { KEEP_FINISHED_JOBS, STALLED_REASON, TRAINING_QUEUE, type TrainingJobData, type TrainingJobResult } from './training-queue.js';

export interface QueuedTrainingOptions {
  redisUrl: string;
  store: RunStore;
  models: ModelService;
  dataDir: string;
  pubSub: ProgressPubSub;
  publish: (event: TrainingProgressEvent) => void;
  startupTraining?: TrainingInput;
  log: Logger;
}

const IDLE_POLL_MS = 100;
const WAITING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class QueuedTrainingService implements TrainingControl {
  private readonly connections: Redis[];
  private readonly queue: Queue<TrainingJobData, TrainingJobResult>;
  private readonly queueEvents: QueueEvents;

  constructor(private readonly options: QueuedTrainingOptions) {
    const requests = connectRedis(options.redisUrl, 'request', 'api:queue');
    const events = connectRedis(options.redisUrl, 'blocking', 'api:queue-events');
    this.connections = [requests, events];
    this.queue = new Queue(TRAINING_QUEUE, { connection: requests });
    this.queue.on('error', () => undefined); // reconnection is ioredis's job; requests report their own errors
    this.queueEvents = new QueueEvents(TRAINING_QUEUE, { connection: events });
    this.queueEvents.on('error', () => undefined);
    this.queueEvents.on('failed', ({ jobId, failedReason }) => this.recordLostRun(jobId, failedReason));
  }

  /** Waits until the queue's connections are up (start-up, tests). */
  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.queueEvents.waitUntilReady()]);
  }

  async start(input: TrainingInput = {}, trigger: RunTrigger = 'api'): Promise<TrainingRunRecord> {
    const { params, autoPromote } = parseTrainingInput(input);
    const { store, publish } = this.options;
    const result = store.createIfIdle({ params, autoPromote, trigger });
    if ('open' in result) {
      throw new ServiceError('TRAINING_IN_PROGRESS', `training run ${result.open.id} is ${result.open.status}; cancel it or wait for it to finish`);
    }
    const run = result.created;
    try {
      await this.queue.add('train', { runId: run.id }, { jobId: run.id, attempts: 1, removeOnComplete: KEEP_FINISHED_JOBS, removeOnFail: KEEP_FINISHED_JOBS });
    } catch (error) {
      const failed = store.finish(run.id, { status: 'failed', errorCode: 'TRAINING_UNAVAILABLE', errorMessage: `could not enqueue the run: ${messageOf(error)}` });
      publish(finishedEvent(failed));
      throw new ServiceError('TRAINING_UNAVAILABLE', `the training queue (Redis) is unreachable: ${messageOf(error)}`);
    }
    publish({ runId: run.id, status: 'queued', kind: 'queued' });
    return run;
  }

  /** A waiting run is taken off the queue and cancelled here; a running one is asked to stop by its worker. */
  async cancel(runId: string): Promise<TrainingRunRecord> {
    const { store, publish, pubSub } = this.options;
    const record = store.get(runId);
    if (!record) throw new ServiceError('RUN_NOT_FOUND', `no training run with id ${runId}`);
    if (record.status !== 'queued' && record.status !== 'running') throw new ServiceError('RUN_FINISHED', `training run ${runId} is not in progress (status ${record.status})`);
    let job;
    try {
      job = await this.queue.getJob(runId);
    } catch (error) {
      throw new ServiceError('TRAINING_UNAVAILABLE', `the training queue (Redis) is unreachable: ${messageOf(error)}`);
    }
    const waiting = job && WAITING_STATES.has(await job.getState().catch(() => 'unknown'));
    // remove() refuses a job a worker has just taken: then that worker is asked instead.
    if (waiting && (await job!.remove().then(() => true, () => false))) {
      const cancelled = store.finish(runId, { status: 'cancelled' });
      publish(finishedEvent(cancelled));
      return cancelled;
    }
    pubSub.publish(CANCEL_TRAINING, { runId });
    return record;
  }

  private recordLostRun(runId: string, reason: string): void {
    const { store, publish, log } = this.options;
    const stalled = STALLED_REASON.test(reason);
    try {
      const failed = store.failIfOpen(
        runId,
        stalled ? 'TRAINING_WORKER_LOST' : 'TRAINING_FAILED',
        stalled ? `the trainer worker running this run stopped responding (${reason})` : `the trainer worker failed: ${reason}`,
      );
      if (failed) {
        log.warn(`training run ${runId} failed in the job queue: ${reason}`);
        publish(finishedEvent(failed));
      }
    } catch (error) {
      log.error(`could not record the failure of training run ${runId}`, error);
    }
  }

  activeRun(): TrainingRunRecord | null {
    return this.options.store.openRun();
  }

  /** The original app's behaviour: no model yet but images to learn from, so queue a first run (once across replicas). */
  async autoTrainIfNeeded(): Promise<TrainingRunRecord | null> {
    const { models, dataDir, startupTraining } = this.options;
    await models.reloadActive();
    if (models.status().ready || this.activeRun()) return null;
    if (!(await hasTrainingImages(dataDir))) return null;
    try {
      return await this.start(startupTraining ?? {}, 'startup');
    } catch (error) {
      if (error instanceof ServiceError && error.code === 'TRAINING_IN_PROGRESS') return null;
      throw error;
    }
  }

  async whenIdle(): Promise<void> {
    while (this.activeRun()) await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
  }

  /** Closes the queue connections; runs belong to the workers and go on. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([this.queue.close(), this.queueEvents.close()]);
    for (const connection of this.connections) connection.disconnect();
  }
}
