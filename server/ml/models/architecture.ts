import type { tf } from '../tf.js';

export interface ArchitectureOptions {
  imageSize: number;
  seed: number;
}

/** A named network definition: the output is one sigmoid unit, the probability of the positive class. */
export interface Architecture {
  name: string;
  description: string;
  /** Smallest input side the network accepts (each pooling stage halves it). */
  minImageSize: number;
  build(options: ArchitectureOptions): tf.LayersModel;
}
