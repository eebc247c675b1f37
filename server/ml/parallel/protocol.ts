// Messages between the data-parallel coordinator and its replica workers. Only small control
// messages travel this way; tensors live in the shared buffers.
import type { ClassWeights } from '../loss.js';
import type { FlatLayout, SharedBuffers } from './shared-buffers.js';

/** workerData of a replica worker. */
export interface ReplicaSetup {
  replica: number;
  architecture: string;
  imageSize: number;
  seed: number;
  learningRate: number;
  classWeights: ClassWeights;
  weightDecay: number;
  labelSmoothing: number;
  buffers: SharedBuffers;
  trainable: FlatLayout;
  /** Non-trainable weights (batch-norm moving statistics), which each replica keeps for itself. */
  statistics: FlatLayout;
  /** The range of the flat weights this replica's Adam updates. */
  optimizerRange: { from: number; to: number };
}

export type CoordinatorMessage =
  /**
   * Gradient of rows [start, start + count) of the shared batch (none when count is 0), its
   * loss divided by batchSize; then, once every replica has its gradient, the sum of the slots
   * of `replicas` (in that order) and Adam at `learningRate` on this replica's range of the weights.
   */
  | { type: 'step'; start: number; count: number; batchSize: number; replicas: number[]; learningRate: number }
  /** Copy this replica's non-trainable weights into its statistics slot. */
  | { type: 'statistics' }
  | { type: 'memory' };

export type ReplicaMessage =
  | { type: 'ready' }
  /** The shard's loss and correct predictions (0 for an empty shard), sent once the weights are updated. */
  | { type: 'stepped'; loss: number; correct: number }
  | { type: 'statistics' }
  | { type: 'memory'; numTensors: number; wasmHeapBytes: number }
  | { type: 'failed'; message: string };

export interface ReplicaMemory {
  numTensors: number;
  wasmHeapBytes: number;
}
