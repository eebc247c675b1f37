// Messages between the server's main thread and its inference thread. Plain data only: they
// are copied between threads (pixels included: a decoded image is a few tens of kilobytes).
import type { BackendInfo, BackendOptions } from '../ml/backend-info.js';
import type { ActivationMap } from '../ml/explain/grad-cam.js';
import type { Assessment, ScoredViews, ScreeningSettings } from '../ml/screening.js';
import type { TestTimeView } from '../ml/view-names.js';
import type { ModelMetadata } from '../ml/types.js';

export interface InferenceWorkerData {
  modelsDir: string;
  backend: BackendOptions;
  screening: Partial<ScreeningSettings>;
}

export type InferenceRequest =
  /** Loads and warms a version; answers its metadata. */
  | { type: 'load'; id: number; version: string }
  | { type: 'assess'; id: number; version: string; images: Uint8Array[] }
  /** Some of the views of a few images (a lone request's views shared between threads). */
  | { type: 'scoreViews'; id: number; version: string; images: Uint8Array[]; views: TestTimeView[] }
  | { type: 'explain'; id: number; version: string; pixels: Uint8Array; targetClass: 0 | 1 }
  | { type: 'memory'; id: number }
  /** Frees a version; no answer. */
  | { type: 'unload'; version: string };

export interface InferenceMemory {
  numTensors: number;
  numBytes: number;
}

export interface InferenceAnswers {
  load: ModelMetadata;
  assess: Assessment[];
  scoreViews: ScoredViews;
  explain: ActivationMap;
  memory: InferenceMemory;
}

export interface SerializedError {
  message: string;
  code?: string;
  reason?: string;
}

export type InferenceReply =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'backend-failed'; error: SerializedError }
  | { type: 'answer'; id: number; value: unknown }
  | { type: 'error'; id: number; error: SerializedError };
