// Architectures by name, so a training request, a stored version and the CLI all speak of
// networks the same way and new ones are added in one place.
import type { tf } from '../tf.js';
import type { Architecture, ArchitectureOptions } from './architecture.js';
import { buildOriginalCnn } from './original-cnn.js';

export type { Architecture, ArchitectureOptions } from './architecture.js';

const architectures: Architecture[] = [
  {
    name: 'original-cnn',
    description: 'Conv 32/64/128 (3x3, ReLU) each with 2x2 max-pooling, Dense 128, sigmoid output',
    minImageSize: 16,
    build: buildOriginalCnn,
  },
];

export class UnknownArchitectureError extends Error {
  readonly code = 'UNKNOWN_ARCHITECTURE';
  constructor(name: string) {
    super(`unknown architecture "${name}"; known: ${architectureNames().join(', ')}`);
  }
}

export function architectureNames(): string[] {
  return architectures.map((a) => a.name);
}

export function getArchitecture(name: string): Architecture {
  const found = architectures.find((a) => a.name === name);
  if (!found) throw new UnknownArchitectureError(name);
  return found;
}

export function buildModel(name: string, options: ArchitectureOptions): tf.LayersModel {
  const architecture = getArchitecture(name);
  if (options.imageSize < architecture.minImageSize) {
    throw new RangeError(`${name} needs images of at least ${architecture.minImageSize}px, got ${options.imageSize}`);
  }
  return architecture.build(options);
}
