// What every resolver receives: the application services, who is calling, and the request limits.
import type { Classification } from '../ml/classifier.js';
import type { BackendInfo } from '../ml/backend-info.js';
import type { DatasetSummary } from '../services/dataset-summary.js';
import type { DatasetService } from '../services/dataset-service.js';
import type { FeedbackService } from '../services/feedback-service.js';
import type { ModelService } from '../services/model-service.js';
import type { TrainingControl } from '../services/training-service.js';
import type { RunStore } from '../store/run-store.js';
import type { Logger } from '../http/logger.js';
import type { Caller } from './auth.js';
import type { ProgressPubSub } from './progress-pubsub.js';

export interface AppServices {
  models: ModelService;
  training: TrainingControl;
  runs: RunStore;
  backend: BackendInfo;
  pubSub: ProgressPubSub;
  /** Counts the training image folder. */
  dataset(): Promise<DatasetSummary>;
  /** Browses and changes the image folder. */
  datasets: DatasetService;
  /** Kept classifications, corrections and their review. */
  feedback: FeedbackService;
}

export interface RequestLimits {
  maxUploadBytes: number;
  maxFiles: number;
}

export interface AppContext {
  services: AppServices;
  caller: Caller;
  limits: RequestLimits;
  /** Hide unexpected error details from clients. */
  production: boolean;
  log: Logger;
  /** Feeds the inference-latency metric. */
  recordClassification(result: Classification): void;
}
