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
  /** Gradient of rows [start, start + count) of the shared batch, its loss divided by batchSize. */
  | { type: 'step'; start: number; count: number; batchSize: number }
  /** Sum the gradient slots of `replicas` (in that order) and run Adam at `learningRate`, on this replica's range of the weights. */
  | { type: 'apply'; replicas: number[]; learningRate: number }
  /** Copy this replica's non-trainable weights into its statistics slot. */
  | { type: 'statistics' }
  | { type: 'memory' };

export type ReplicaMessage =
  | { type: 'ready' }
  | { type: 'gradients'; loss: number; correct: number }
  | { type: 'applied' }
  | { type: 'statistics' }
  | { type: 'memory'; numTensors: number; wasmHeapBytes: number }
  | { type: 'failed'; message: string };

export interface ReplicaMemory {
  numTensors: number;
  wasmHeapBytes: number;
}
