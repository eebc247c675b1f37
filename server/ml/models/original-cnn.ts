// The original app's network: three conv/max-pool stages and a dense head. Kept by name because
// users compare against it and some want it as it was. The same family with a fourth stage
// ('original-cnn-4') halves the dense head, which holds almost all the original's weights.
import { tf } from '../tf.js';
import type { ArchitectureOptions } from './architecture.js';

/** Conv stages of `filters` (3x3, ReLU, each followed by 2x2 max-pooling), Dense 128, sigmoid. */
export function buildPlainCnn({ imageSize, seed }: ArchitectureOptions, filters: readonly number[], name: string): tf.LayersModel {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  const model = tf.sequential({ name });
  filters.forEach((count, i) => {
    model.add(
      tf.layers.conv2d({
        ...(i === 0 ? { inputShape: [imageSize, imageSize, 3] } : {}),
        filters: count,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(i),
        name: `conv${i + 1}`,
      }),
    );
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${i + 1}` }));
  });
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(10), name: 'dense1' }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(11), name: 'output' }));
  return model;
}

export const buildOriginalCnn = (options: ArchitectureOptions) => buildPlainCnn(options, [32, 64, 128], 'original_cnn');

export const buildOriginalCnn4 = (options: ArchitectureOptions) => buildPlainCnn(options, [32, 64, 128, 256], 'original_cnn_4');
