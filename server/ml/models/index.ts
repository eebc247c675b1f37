// Architectures by name, so a training request, a stored version and the CLI all speak of
// networks the same way. catalog.ts lists them (names, sizes) without tfjs; this adds the builders.
import type { tf } from '../tf.js';
import type { Architecture, ArchitectureOptions } from './architecture.js';
import { buildOriginalCnn, buildOriginalCnn4 } from './original-cnn.js';
import { buildLesionResNet } from './lesion-resnet.js';
import { architectureInfo, resNetShapes } from './catalog.js';

export type { Architecture, ArchitectureOptions } from './architecture.js';
export { architectureNames, UnknownArchitectureError } from './catalog.js';

const builders: Record<string, Architecture['build']> = {
  'original-cnn': buildOriginalCnn,
  'original-cnn-4': buildOriginalCnn4,
  ...Object.fromEntries(Object.entries(resNetShapes).map(([name, shape]) => [name, (options: ArchitectureOptions) => buildLesionResNet(options, shape, name.replace(/-/g, '_'))])),
};

export function getArchitecture(name: string): Architecture {
  const info = architectureInfo(name);
  return { ...info, build: builders[info.name]! };
}

export function buildModel(name: string, options: ArchitectureOptions): tf.LayersModel {
  const architecture = getArchitecture(name);
  if (options.imageSize < architecture.minImageSize) {
    throw new RangeError(`${name} needs images of at least ${architecture.minImageSize}px, got ${options.imageSize}`);
  }
  return architecture.build(options);
}
