// The coordinator's side of one replica worker: requests answered in order, and a dead or
// failing worker turned into rejected promises instead of a hang.
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../util/module-worker.js';
import type { CoordinatorMessage, ReplicaMessage, ReplicaSetup } from './protocol.js';

const workerUrl = new URL('./replica-worker.js', import.meta.url);

export class ReplicaFailedError extends Error {
  readonly code = 'TRAINING_REPLICA_FAILED';
}

let running = 0;

/** Replica workers started and not yet exited in this thread (to check that none is left behind). */
export function runningReplicaWorkers(): number {
  return running;
}

type Pending = { resolve: (message: ReplicaMessage) => void; reject: (error: Error) => void };

export class ReplicaHandle {
  private readonly worker: Worker;
  /** Replies come in request order: the first pending request gets the next reply. */
  private readonly pending: Pending[] = [];
  private failure: Error | undefined;
  private terminated = false;
  /** Resolves once the worker has built its replica. */
  readonly ready: Promise<void>;

  constructor(setup: ReplicaSetup) {
    this.worker = startModuleWorker(workerUrl, setup);
    running++;
    this.ready = this.expectReply().then(() => undefined);
    // Awaited by the coordinator; this keeps an unawaited failure from being "unhandled".
    this.ready.catch(() => undefined);
    this.worker.on('message', (message: ReplicaMessage) => {
      if (message.type === 'failed') this.fail(new ReplicaFailedError(`training replica ${setup.replica} failed: ${message.message}`));
      else this.pending.shift()?.resolve(message);
    });
    this.worker.on('error', (error) => this.fail(new ReplicaFailedError(`training replica ${setup.replica} crashed: ${error.message}`)));
    this.worker.on('exit', (code) => {
      running--;
      if (!this.terminated) this.fail(new ReplicaFailedError(`training replica ${setup.replica} exited with code ${code}`));
    });
  }

  /** Sends `message` and resolves to the reply of type `expected`. */
  async request<T extends ReplicaMessage['type']>(message: CoordinatorMessage, expected: T): Promise<Extract<ReplicaMessage, { type: T }>> {
    this.send(message);
    // (A reply cannot arrive before this thread's next turn, so it is expected in time; a failed
    // replica throws in send, before a reply is expected that nothing would wait for.)
    const answer = await this.expectReply();
    if (answer.type !== expected) throw new ReplicaFailedError(`training replica answered ${answer.type} to ${message.type}`);
    return answer as Extract<ReplicaMessage, { type: T }>;
  }

  /** Sends a message that gets no reply; a failure shows up on the next request. */
  send(message: CoordinatorMessage): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(message);
  }

  async terminate(): Promise<void> {
    this.terminated = true;
    this.fail(new ReplicaFailedError('training replica stopped'));
    await this.worker.terminate();
  }

  private expectReply(): Promise<ReplicaMessage> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }
}
