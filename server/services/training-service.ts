// Training control for the API: one run at a time in a worker thread, every run recorded
// durably, every event published for subscribers, the served model reloaded when a run
// activates a new version.
import type { BackendOptions } from '../ml/backend.js';
import type { ImageLimits } from '../ml/preprocess.js';
import { resolveTrainingParams, TrainingParamsError } from '../ml/training-params.js';
import type { TrainingParams } from '../ml/types.js';
import type { RunStatus, RunStore, RunTrigger, TrainingRunRecord } from '../store/run-store.js';
import { TrainingJob, type TrainingOutcome } from '../training/training-job.js';
import type { TrainingEvent } from '../training/training-events.js';
import { hasTrainingImages } from './dataset-summary.js';
import type { ModelService } from './model-service.js';
import { ServiceError } from './service-error.js';

export type TrainingProgressKind = 'queued' | 'stage' | 'data' | 'batch' | 'epoch' | 'finished';

export interface TrainingProgressEvent {
  runId: string;
  status: RunStatus;
  kind: TrainingProgressKind;
  stage?: string;
  message?: string;
  done?: number;
  total?: number;
  epoch?: number;
  epochs?: number;
  batch?: number;
  batchesPerEpoch?: number;
  loss?: number;
  accuracy?: number;
  imagesPerSecond?: number;
  etaSeconds?: number;
  validationLoss?: number | null;
  validationAccuracy?: number | null;
  validationAuc?: number | null;
  modelVersion?: string | null;
  activated?: boolean;
  errorCode?: string | null;
  errorMessage?: string | null;
}

export interface TrainingInput extends Partial<Omit<TrainingParams, 'targetSensitivity'>> {
  autoPromote?: boolean;
}

export interface TrainingServiceOptions {
  store: RunStore;
  models: ModelService;
  dataDir: string;
  modelsDir: string;
  backend: BackendOptions;
  imageLimits?: Partial<ImageLimits>;
  publish: (event: TrainingProgressEvent) => void;
  /** Parameters of the run started automatically when no model exists (defaults otherwise). */
  startupTraining?: TrainingInput;
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

export class TrainingService {
  private active: { runId: string; job: TrainingJob; finished: Promise<void> } | null = null;

  constructor(private readonly options: TrainingServiceOptions) {}

  /** Starts a run now; a second run while one is in progress is refused (not queued). */
  start(input: TrainingInput = {}, trigger: RunTrigger = 'api'): TrainingRunRecord {
    if (this.active) {
      throw new ServiceError('TRAINING_IN_PROGRESS', `training run ${this.active.runId} is in progress; cancel it or wait for it to finish`);
    }
    const { autoPromote = false, ...rest } = input;
    let params: TrainingParams;
    try {
      params = resolveTrainingParams(rest);
    } catch (error) {
      if (error instanceof TrainingParamsError) throw new ServiceError('BAD_TRAINING_INPUT', error.message);
      throw error;
    }
    const { store, publish } = this.options;
    const queued = store.create({ params, autoPromote, trigger });
    publish({ runId: queued.id, status: 'queued', kind: 'queued' });

    const job = new TrainingJob(
      { dataDir: this.options.dataDir, modelsDir: this.options.modelsDir, params, autoPromote, imageLimits: this.options.imageLimits },
      this.options.backend,
    );
    const running = store.markRunning(queued.id);
    job.onEvent((event) => this.record(running.id, event));
    const finished = job.done.then((outcome) => this.finish(running.id, outcome));
    this.active = { runId: running.id, job, finished };
    return running;
  }

  private record(runId: string, event: TrainingEvent): void {
    const { store, publish } = this.options;
    switch (event.type) {
      case 'stage':
        publish({ runId, status: 'running', kind: 'stage', stage: event.stage, message: event.message });
        break;
      case 'data-progress':
        publish({ runId, status: 'running', kind: 'data', done: event.done, total: event.total });
        break;
      case 'batch': {
        const { type: _type, ...batch } = event;
        publish({ runId, status: 'running', kind: 'batch', ...batch });
        break;
      }
      case 'epoch': {
        const epoch = {
          epoch: event.epoch,
          loss: event.loss,
          accuracy: event.accuracy,
          validationLoss: finite(event.validationLoss),
          validationAccuracy: finite(event.validationAccuracy),
          validationAuc: finite(event.validationAuc),
          learningRate: event.learningRate,
          seconds: event.seconds,
          imagesPerSecond: event.imagesPerSecond,
        };
        store.appendEpoch(runId, epoch);
        publish({ runId, status: 'running', kind: 'epoch', epochs: event.epochs, ...epoch });
        break;
      }
      default:
        // Outcomes are handled once, from job.done, so a crash without a message is recorded too.
        break;
    }
  }

  private async finish(runId: string, outcome: TrainingOutcome): Promise<void> {
    const { store, publish, models } = this.options;
    let record: TrainingRunRecord;
    if (outcome.status === 'succeeded') {
      record = store.finish(runId, {
        status: 'succeeded',
        modelVersion: outcome.model.version,
        activated: outcome.activated,
        metrics: outcome.model.metrics,
      });
      if (outcome.activated) await models.reloadActive();
    } else if (outcome.status === 'cancelled') {
      record = store.finish(runId, { status: 'cancelled' });
    } else {
      record = store.finish(runId, { status: 'failed', errorCode: outcome.code, errorMessage: outcome.message });
    }
    this.active = null;
    publish({
      runId,
      status: record.status,
      kind: 'finished',
      modelVersion: record.modelVersion,
      activated: record.activated,
      errorCode: record.errorCode,
      errorMessage: record.errorMessage,
    });
  }

  cancel(runId: string): TrainingRunRecord {
    const record = this.options.store.get(runId);
    if (!record) throw new ServiceError('RUN_NOT_FOUND', `no training run with id ${runId}`);
    if (this.active?.runId !== runId) throw new ServiceError('RUN_FINISHED', `training run ${runId} is not in progress (status ${record.status})`);
    this.active.job.cancel();
    return record;
  }

  activeRun(): TrainingRunRecord | null {
    return this.active ? this.options.store.get(this.active.runId) : null;
  }

  /** The original app's behaviour: no model yet but images to learn from, so train one. */
  async autoTrainIfNeeded(): Promise<TrainingRunRecord | null> {
    await this.options.models.reloadActive();
    if (this.options.models.status().ready || this.active) return null;
    if (!(await hasTrainingImages(this.options.dataDir))) return null;
    return this.start(this.options.startupTraining ?? {}, 'startup');
  }

  async whenIdle(): Promise<void> {
    while (this.active) await this.active.finished;
  }

  /** Cancels the run in progress and waits for it to be recorded, killing the worker if it hangs. */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    const active = this.active;
    if (!active) return;
    active.job.cancel();
    const timer = setTimeout(() => void active.job.terminate(), timeoutMs);
    try {
      await active.finished;
    } finally {
      clearTimeout(timer);
    }
  }
}
