// Architectures by name, so a training request, a stored version and the CLI all speak of
// networks the same way and new ones are added in one place.
import type { tf } from '../tf.js';
import type { Architecture, ArchitectureOptions } from './architecture.js';
import { buildOriginalCnn } from './original-cnn.js';
import { buildLesionResNet, resNetMinImageSize, type ResNetShape } from './lesion-resnet.js';

export type { Architecture, ArchitectureOptions } from './architecture.js';

function resNet(name: string, shape: ResNetShape): Architecture {
  const stages = shape.widths.map((w) => `${shape.blocks}x${w}`).join('/');
  return {
    name,
    description: `Residual CNN with batch normalisation: ${shape.stem}-filter stem (stride ${shape.stemStride}), stages ${stages} (3x3 blocks, stride 2 between stages), global average pooling, sigmoid output`,
    minImageSize: resNetMinImageSize(shape),
    build: (options) => buildLesionResNet(options, shape, name.replace(/-/g, '_')),
  };
}

const architectures: Architecture[] = [
  {
    name: 'original-cnn',
    description: 'Conv 32/64/128 (3x3, ReLU) each with 2x2 max-pooling, Dense 128, sigmoid output',
    minImageSize: 16,
    build: buildOriginalCnn,
  },
  resNet('resnet-small', { stem: 24, widths: [24, 48, 96, 192], blocks: 1, stemStride: 2 }),
  resNet('resnet-wide', { stem: 32, widths: [32, 64, 128, 256], blocks: 1, stemStride: 2 }),
  resNet('resnet-deep', { stem: 32, widths: [32, 64, 128, 256], blocks: 2, stemStride: 2 }),
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
