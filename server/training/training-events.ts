// Messages a training run emits, identical whether it runs in this thread or in a worker.
import type { BatchProgress, EpochProgress } from '../ml/train.js';
import type { ModelMetadata, TrainingParams } from '../ml/types.js';
import type { ImageLimits } from '../ml/decode.js';
import type { TestTimeView } from '../ml/tta.js';

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
  /** Use this rule instead of fitting one (see BorrowedDecisionRule). */
  decisionRule?: BorrowedDecisionRule;
}

/**
 * The temperature, views and threshold another version of the same recipe fitted on its
 * validation split: lets a run train on every image, holding none back, and still get a rule
 * chosen on images its recipe did not train on (cross-validation measures how well it carries).
 */
export interface BorrowedDecisionRule {
  /** The version it comes from, and how that version got it, for the new version's record. */
  from: string;
  description: string;
  temperature: number;
  threshold: number;
  views: TestTimeView[];
  targetSensitivity: number;
  /** The class its scores are the probability of; the run's data must agree. */
  positiveClass: string;
}
