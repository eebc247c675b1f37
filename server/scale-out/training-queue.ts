// The training job queue shared by API replicas (which enqueue) and trainer workers (which run).
// A job carries only the run id: the run's parameters live in the shared run store.
export const TRAINING_QUEUE = 'skin-cancer-detection-training';

export interface TrainingJobData {
  runId: string;
}

/** What a trainer worker returns for a job (kept in Redis with the finished job). */
export interface TrainingJobResult {
  status: string;
  modelVersion?: string | null;
}

/** bullmq's reason for a job whose worker stopped renewing its lock (maxStalledCount 0). */
export const STALLED_REASON = /stalled/i;

/** Finished jobs kept in Redis for inspection; the run store keeps the full history. */
export const KEEP_FINISHED_JOBS = 1000;
