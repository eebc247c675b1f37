// One queued run carried out and recorded: the training job in its worker thread, every event
// published, epochs and the outcome written to the run store. Shared by the single-process
// TrainingService and the trainer workers of a scaled-out deployment.
import type { BackendOptions } from '../ml/backend.js';
import type { ImageLimits } from '../ml/decode.js';
import type { RunStore, TrainingRunRecord } from '../store/run-store.js';
import type { TrainingProgressEvent } from '../services/training-service.js';
import { TrainingJob, type TrainingOutcome } from './training-job.js';
import type { TrainingEvent } from './training-events.js';

export interface RunExecutionContext {
  store: RunStore;
  publish: (event: TrainingProgressEvent) => void;
  dataDir: string;
  modelsDir: string;
  backend: BackendOptions;
  imageLimits?: Partial<ImageLimits>;
  /** A succeeded run made its version active: serve it (before `finished` is published). */
  onActivated: (version: string) => Promise<void>;
  /** The outcome is recorded; called just before the `finished` event goes out. */
  onSettled?: () => void;
}

export interface RunExecution {
  runId: string;
  job: TrainingJob;
  /** The run as finally recorded. */
  finished: Promise<TrainingRunRecord>;
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

/** Starts `queued` (a run in status 'queued'): marks it running and trains it in a worker thread. */
export function executeRun(context: RunExecutionContext, queued: TrainingRunRecord): RunExecution {
  const { store, publish } = context;
  const job = new TrainingJob(
    { dataDir: context.dataDir, modelsDir: context.modelsDir, params: queued.params, autoPromote: queued.autoPromote, imageLimits: context.imageLimits },
    context.backend,
  );
  const running = store.markRunning(queued.id);
  job.onEvent((event) => record(context, running.id, event));
  const finished = job.done.then((outcome) => finish(context, running.id, outcome));
  return { runId: running.id, job, finished };
}

function record({ store, publish }: RunExecutionContext, runId: string, event: TrainingEvent): void {
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

async function finish(context: RunExecutionContext, runId: string, outcome: TrainingOutcome): Promise<TrainingRunRecord> {
  const { store, publish } = context;
  let record: TrainingRunRecord;
  if (outcome.status === 'succeeded') {
    record = store.finish(runId, {
      status: 'succeeded',
      modelVersion: outcome.model.version,
      activated: outcome.activated,
      metrics: outcome.model.metrics,
    });
    if (outcome.activated) await context.onActivated(outcome.model.version);
  } else if (outcome.status === 'cancelled') {
    record = store.finish(runId, { status: 'cancelled' });
  } else {
    record = store.finish(runId, { status: 'failed', errorCode: outcome.code, errorMessage: outcome.message });
  }
  context.onSettled?.();
  publish(finishedEvent(record));
  return record;
}

export function finishedEvent(record: TrainingRunRecord): TrainingProgressEvent {
  return {
    runId: record.id,
    status: record.status,
    kind: 'finished',
    modelVersion: record.modelVersion,
    activated: record.activated,
    errorCode: record.errorCode,
    errorMessage: record.errorMessage,
  };
}
