// The learning rate at each optimizer step: an optional linear warm-up (large early steps on
// freshly initialised batch-norm networks diverge), then constant or a cosine decay to zero
// at the planned last step (small final steps settle into a flatter, better-generalising minimum).
import type { LearningRateSchedule } from './types.js';

export interface ScheduleSettings {
  /** Peak rate. */
  learningRate: number;
  schedule: LearningRateSchedule;
  warmupSteps: number;
  /** Steps the run is planned for (early stopping may end it sooner). */
  totalSteps: number;
}

/** Rate for step `step` (0-based). */
export function learningRateAt(step: number, { learningRate, schedule, warmupSteps, totalSteps }: ScheduleSettings): number {
  if (warmupSteps > 0 && step < warmupSteps) return (learningRate * (step + 1)) / warmupSteps;
  if (schedule === 'constant') return learningRate;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return 0.5 * learningRate * (1 + Math.cos(Math.PI * progress));
}
