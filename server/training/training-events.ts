// Messages a training run emits, identical whether it runs in this thread or in a worker.
import type { BatchProgress, EpochProgress } from '../ml/train.js';
import type { ModelMetadata, TrainingParams } from '../ml/types.js';
import type { ImageLimits } from '../ml/decode.js';

export type TrainingStage = 'loading-data' | 'training' | 'evaluating' | 'saving';

export type TrainingEvent =
  | { type: 'stage'; stage: TrainingStage; message: string }
  | { type: 'data-progress'; done: number; total: number }
  | ({ type: 'batch' } & BatchProgress)
  | ({ type: 'epoch' } & EpochProgress)
  | { type: 'succeeded'; model: ModelMetadata; activated: boolean }
  | { type: 'cancelled' }
  | { type: 'failed'; code: string; message: string };

export interface TrainingRequest {
  /** Folder holding `train/<class>/` and optionally `test/<class>/`. */
  dataDir: string;
  modelsDir: string;
  params: TrainingParams;
  positiveClass?: string;
  imageLimits?: Partial<ImageLimits>;
  /** Make the new version active when it beats the active one (it always is when none is active). */
  autoPromote: boolean;
}
