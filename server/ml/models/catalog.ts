// The architectures by name, what they are and the smallest input they take: plain data, so
// validating a training request does not load tfjs. index.ts pairs each with its builder.
import { resNetMinImageSize, type ResNetShape } from './resnet-shape.js';

export interface ArchitectureInfo {
  name: string;
  description: string;
  /** Smallest input side the network accepts (each pooling stage halves it). */
  minImageSize: number;
}

export const resNetShapes: Record<string, ResNetShape> = {
  'resnet-small': { stem: 24, widths: [24, 48, 96, 192], blocks: 1, stemStride: 2 },
  'resnet-wide': { stem: 32, widths: [32, 64, 128, 256], blocks: 1, stemStride: 2 },
  'resnet-deep': { stem: 32, widths: [32, 64, 128, 256], blocks: 2, stemStride: 2 },
};

function resNetInfo(name: string, shape: ResNetShape): ArchitectureInfo {
  const stages = shape.widths.map((w) => `${shape.blocks}x${w}`).join('/');
  return {
    name,
    description: `Residual CNN with batch normalisation: ${shape.stem}-filter stem (stride ${shape.stemStride}), stages ${stages} (3x3 blocks, stride 2 between stages), global average pooling, sigmoid output`,
    minImageSize: resNetMinImageSize(shape),
  };
}

const catalog: ArchitectureInfo[] = [
  {
    name: 'original-cnn',
    description: 'Conv 32/64/128 (3x3, ReLU) each with 2x2 max-pooling, Dense 128, sigmoid output',
    minImageSize: 16,
  },
  {
    name: 'original-cnn-4',
    description: 'The original CNN with a fourth stage: Conv 32/64/128/256 (3x3, ReLU) each with 2x2 max-pooling, Dense 128, sigmoid output',
    minImageSize: 16,
  },
  ...Object.entries(resNetShapes).map(([name, shape]) => resNetInfo(name, shape)),
];

export class UnknownArchitectureError extends Error {
  readonly code = 'UNKNOWN_ARCHITECTURE';
  constructor(name: string) {
    super(`unknown architecture "${name}"; known: ${architectureNames().join(', ')}`);
  }
}

export function architectureNames(): string[] {
  return catalog.map((a) => a.name);
}

export function architectureInfo(name: string): ArchitectureInfo {
  const found = catalog.find((a) => a.name === name);
  if (!found) throw new UnknownArchitectureError(name);
  return found;
}
