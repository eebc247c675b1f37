// Main-thread handle of the inference thread: request/answer over its message port, and a new
// thread when it dies (a WASM abort, out of memory), with the same versions loaded again.
// Requests in flight when it dies fail with INFERENCE_FAILED; later ones are served.
import type { Worker } from 'node:worker_threads';
import type { BackendInfo } from '../ml/backend-info.js';
import { RegistryError, type RegistryErrorCode } from '../registry/registry-error.js';
import { ServiceError } from '../services/service-error.js';
import { startModuleWorker } from '../util/module-worker.js';
import type { InferenceAnswers, InferenceMemory, InferenceReply, InferenceRequest, InferenceWorkerData, SerializedError } from './inference-protocol.js';
import type { Assessment, ScoredViews } from '../ml/screening.js';
import type { TestTimeView } from '../ml/view-names.js';
import type { ActivationMap } from '../ml/explain/grad-cam.js';
import type { ModelMetadata } from '../ml/types.js';

const workerUrl = new URL('./inference-worker.js', import.meta.url);

/** More deaths than this within `RESTART_WINDOW_MS` and the thread is not started again. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

const registryCodes: readonly string[] = ['MODEL_NOT_FOUND', 'DAMAGED_MODEL'] satisfies RegistryErrorCode[];

/** The worker's error as the main thread's own kind, so the API gives it the same code. */
function revive(error: SerializedError): Error {
  if (error.code && registryCodes.includes(error.code)) return new RegistryError(error.code as RegistryErrorCode, error.message);
  if (error.code === 'MODEL_NOT_READY') return new ServiceError('MODEL_NOT_READY', error.message);
  return new Error(error.message);
}

type Request = { [K in keyof InferenceAnswers]: Extract<InferenceRequest, { type: K }> }[keyof InferenceAnswers];
type RequestBody<K extends keyof InferenceAnswers> = Omit<Extract<InferenceRequest, { type: K }>, 'id'>;

export interface InferenceThreadOptions extends InferenceWorkerData {
  onRestart?: (reason: string) => void;
}

export class InferenceThread {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  /** Versions the thread holds, loaded again into a replacement thread. */
  private readonly versions = new Set<string>();
  private readonly deaths: number[] = [];
  private stopped: string | null = null;
  private lastError: Error | null = null;
  /** The backend the thread computes with; rejects when none initialises. */
  readonly backend: Promise<BackendInfo>;
  private settleBackend!: { resolve(info: BackendInfo): void; reject(error: Error): void };

  constructor(private readonly options: InferenceThreadOptions) {
    this.backend = new Promise<BackendInfo>((resolve, reject) => (this.settleBackend = { resolve, reject }));
    this.backend.catch(() => undefined);
    this.worker = this.spawn();
  }

  get restarts(): number {
    return this.deaths.length;
  }

  private spawn(): Worker {
    const { modelsDir, backend, screening } = this.options;
    const worker = startModuleWorker(workerUrl, { modelsDir, backend, screening } satisfies InferenceWorkerData);
    worker.on('message', (reply: InferenceReply) => this.onReply(reply));
    worker.on('error', (error) => (this.lastError = error));
    worker.on('exit', (exitCode) => this.onExit(worker, exitCode));
    return worker;
  }

  private onReply(reply: InferenceReply): void {
    switch (reply.type) {
      case 'ready':
        this.settleBackend.resolve(reply.backend);
        return;
      case 'backend-failed':
        this.settleBackend.reject(new Error(reply.error.message));
        return;
      case 'answer':
      case 'error': {
        const waiting = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (reply.type === 'answer') waiting?.resolve(reply.value);
        else waiting?.reject(revive(reply.error));
      }
    }
  }

  private onExit(worker: Worker, exitCode: number): void {
    if (worker !== this.worker || this.stopped) return;
    const why = `the inference thread stopped (exit code ${exitCode}${this.lastError ? `: ${this.lastError.message}` : ''})`;
    this.lastError = null;
    this.failPending(new ServiceError('INFERENCE_FAILED', `${why}; retry the request`));
    const now = Date.now();
    this.deaths.push(now);
    if (this.deaths.filter((t) => now - t < RESTART_WINDOW_MS).length > MAX_RESTARTS) {
      this.stopped = `${why}, ${MAX_RESTARTS + 1} times within a minute; it is not restarted`;
      this.settleBackend.reject(new Error(this.stopped));
      this.options.onRestart?.(this.stopped);
      return;
    }
    this.worker = this.spawn();
    for (const version of this.versions) {
      this.send<'load'>({ type: 'load', version }).catch((error: unknown) => this.options.onRestart?.(`reloading ${version} failed: ${String(error)}`));
    }
    this.options.onRestart?.(`${why}; started a new one`);
  }

  private failPending(error: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const w of waiting) w.reject(error);
  }

  private send<K extends keyof InferenceAnswers>(body: RequestBody<K>): Promise<InferenceAnswers[K]> {
    if (this.stopped) return Promise.reject(new ServiceError('INFERENCE_FAILED', this.stopped));
    const id = this.nextId++;
    return new Promise<InferenceAnswers[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...body, id } as Request);
    });
  }

  /** Loads and warms `version` in the thread; answers its metadata. */
  async load(version: string): Promise<ModelMetadata> {
    const metadata = await this.send<'load'>({ type: 'load', version });
    this.versions.add(version);
    return metadata;
  }

  /** Frees `version` after every request already sent for it. */
  unload(version: string): void {
    this.versions.delete(version);
    if (!this.stopped) this.worker.postMessage({ type: 'unload', version } satisfies InferenceRequest);
  }

  assess(version: string, images: Uint8Array[]): Promise<Assessment[]> {
    return this.send<'assess'>({ type: 'assess', version, images });
  }

  scoreViews(version: string, images: Uint8Array[], views: TestTimeView[]): Promise<ScoredViews> {
    return this.send<'scoreViews'>({ type: 'scoreViews', version, images, views });
  }

  explain(version: string, pixels: Uint8Array, targetClass: 0 | 1): Promise<ActivationMap> {
    return this.send<'explain'>({ type: 'explain', version, pixels, targetClass });
  }

  /** tfjs memory of the inference thread (tests check it stays flat). */
  memory(): Promise<InferenceMemory> {
    return this.send<'memory'>({ type: 'memory' });
  }

  /** Ends the thread; requests still in flight fail. */
  async close(): Promise<void> {
    this.stopped ??= 'the service is shutting down';
    this.failPending(new ServiceError('MODEL_NOT_READY', this.stopped));
    await this.worker.terminate();
  }

  /** Kills the thread as a crash would (fault-injection tests). */
  crashForTesting(): Promise<number> {
    return this.worker.terminate();
  }
}
