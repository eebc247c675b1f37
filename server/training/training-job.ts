// Main-thread handle of a training run in a worker thread: event stream, cancel, completion.
import type { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import type { BackendOptions } from '../ml/backend.js';
import { startModuleWorker } from '../util/module-worker.js';
import type { ModelMetadata } from '../ml/types.js';
import type { TrainingEvent, TrainingRequest } from './training-events.js';

export type TrainingOutcome =
  | { status: 'succeeded'; model: ModelMetadata; activated: boolean }
  | { status: 'cancelled' }
  | { status: 'failed'; code: string; message: string };

const workerUrl = new URL('./training-worker.js', import.meta.url);

export class TrainingJob {
  private readonly events = new EventEmitter();
  private readonly worker: Worker;
  private cancelRequested = false;
  readonly done: Promise<TrainingOutcome>;

  constructor(request: TrainingRequest, backend: BackendOptions = {}) {
    this.worker = startModuleWorker(workerUrl, { request, backend });
    this.done = new Promise<TrainingOutcome>((resolve) => {
      let outcome: TrainingOutcome | undefined;
      this.worker.on('message', (event: TrainingEvent) => {
        if (event.type === 'succeeded') outcome = { status: 'succeeded', model: event.model, activated: event.activated };
        else if (event.type === 'cancelled') outcome = { status: 'cancelled' };
        else if (event.type === 'failed') outcome = { status: 'failed', code: event.code, message: event.message };
        this.events.emit('event', event);
      });
      this.worker.on('error', (error) => {
        outcome ??= { status: 'failed', code: 'TRAINING_CRASHED', message: error.message };
      });
      this.worker.on('exit', (exitCode) => {
        outcome ??= this.cancelRequested
          ? { status: 'cancelled' }
          : { status: 'failed', code: 'TRAINING_CRASHED', message: `training worker exited with code ${exitCode}` };
        resolve(outcome);
      });
    });
  }

  onEvent(listener: (event: TrainingEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  /** Stops after the current batch; nothing is saved for a cancelled run. */
  cancel(): void {
    this.cancelRequested = true;
    this.worker.postMessage({ type: 'cancel' });
  }

  /** Ends the worker at once (shutdown): the run is lost, saved versions are untouched. */
  async terminate(): Promise<void> {
    this.cancelRequested = true;
    await this.worker.terminate();
  }
}
