// The original app's network: three conv/max-pool stages and a dense head.
// Kept by name because users compare against it and some want it as it was.
import { tf } from '../tf.js';
import type { ArchitectureOptions } from './architecture.js';

export function buildOriginalCnn({ imageSize, seed }: ArchitectureOptions): tf.LayersModel {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  const model = tf.sequential({ name: 'original_cnn' });
  [32, 64, 128].forEach((filters, i) => {
    model.add(
      tf.layers.conv2d({
        ...(i === 0 ? { inputShape: [imageSize, imageSize, 3] } : {}),
        filters,
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
