// Training control for the API: one run at a time in a worker thread, every run recorded
// durably, every event published for subscribers, the served model reloaded when a run
// activates a new version.
import type { BackendOptions } from '../ml/backend.js';
import type { ImageLimits } from '../ml/decode.js';
import { resolveTrainingParams, TrainingParamsError } from '../ml/training-params.js';
import type { TrainingParams } from '../ml/types.js';
import type { RunStatus, RunStore, RunTrigger, TrainingRunRecord } from '../store/run-store.js';
import type { TrainingJob } from '../training/training-job.js';
import { executeRun } from '../training/run-execution.js';
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

/** The run's parameters with defaults filled in; BAD_TRAINING_INPUT names a field out of range. */
export function parseTrainingInput(input: TrainingInput): { params: TrainingParams; autoPromote: boolean } {
  const { autoPromote = false, ...rest } = input;
  try {
    return { params: resolveTrainingParams(rest), autoPromote };
  } catch (error) {
    if (error instanceof TrainingParamsError) throw new ServiceError('BAD_TRAINING_INPUT', error.message);
    throw error;
  }
}

/** Training control as the API uses it, in one process (TrainingService) or over a job queue. */
export interface TrainingControl {
  start(input?: TrainingInput, trigger?: RunTrigger): TrainingRunRecord | Promise<TrainingRunRecord>;
  cancel(runId: string): TrainingRunRecord | Promise<TrainingRunRecord>;
  /** The run queued or in progress, if any. */
  activeRun(): TrainingRunRecord | null;
  autoTrainIfNeeded(): Promise<TrainingRunRecord | null>;
  /** Resolves when no run is queued or in progress. */
  whenIdle(): Promise<void>;
  shutdown(): Promise<void>;
}

export class TrainingService implements TrainingControl {
  private active: { runId: string; job: TrainingJob; finished: Promise<void> } | null = null;

  constructor(private readonly options: TrainingServiceOptions) {}

  /** Starts a run now; a second run while one is in progress is refused (not queued). */
  start(input: TrainingInput = {}, trigger: RunTrigger = 'api'): TrainingRunRecord {
    if (this.active) {
      throw new ServiceError('TRAINING_IN_PROGRESS', `training run ${this.active.runId} is in progress; cancel it or wait for it to finish`);
    }
    const { params, autoPromote } = parseTrainingInput(input);
    const { store, publish } = this.options;
    const queued = store.create({ params, autoPromote, trigger });
    publish({ runId: queued.id, status: 'queued', kind: 'queued' });

    const execution = executeRun(
      {
        ...this.options,
        onActivated: () => this.options.models.reloadActive(),
        onSettled: () => (this.active = null),
      },
      queued,
    );
    this.active = { runId: execution.runId, job: execution.job, finished: execution.finished.then(() => undefined) };
    return store.get(execution.runId)!;
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
