// Small residual networks with batch normalisation and a global-average-pooling head, sized for
// CPU training on a couple of thousand dermoscopic images. Compared with the original CNN they
// spend their compute on convolutions rather than on a 2-million-weight dense layer, normalise
// every convolution (stable, fast convergence from scratch) and pool globally, so position in
// the frame does not matter and the head has a few hundred weights instead of millions.
import { tf } from '../tf.js';
import type { ArchitectureOptions } from './architecture.js';

import type { ResNetShape } from './resnet-shape.js';

export type { ResNetShape } from './resnet-shape.js';
export { resNetMinImageSize } from './resnet-shape.js';

/** Batch-norm momentum: moving statistics must settle within an epoch of a few dozen steps. */
const BN_MOMENTUM = 0.9;

export function buildLesionResNet({ imageSize, seed }: ArchitectureOptions, shape: ResNetShape, name: string): tf.LayersModel {
  let layerIndex = 0;
  const init = () => tf.initializers.heNormal({ seed: seed + layerIndex++ });
  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number, label: string) =>
    tf.layers
      .conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init(), name: label })
      .apply(x) as tf.SymbolicTensor;
  // The last normalisation of a residual branch starts at zero, so each block starts as the
  // identity and the network trains like a shallow one at first.
  const norm = (x: tf.SymbolicTensor, label: string, zero = false) =>
    tf.layers
      .batchNormalization({ momentum: BN_MOMENTUM, epsilon: 1e-3, gammaInitializer: zero ? 'zeros' : 'ones', name: label })
      .apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, label: string) => tf.layers.reLU({ name: label }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [imageSize, imageSize, 3], name: 'image' });
  let x = relu(norm(conv(input, shape.stem, 3, shape.stemStride, 'stem_conv'), 'stem_bn'), 'stem_relu');
  let channels = shape.stem;
  shape.widths.forEach((width, stage) => {
    for (let block = 0; block < shape.blocks; block++) {
      const label = `s${stage + 1}b${block + 1}`;
      const strides = stage > 0 && block === 0 ? 2 : 1;
      let branch = relu(norm(conv(x, width, 3, strides, `${label}_conv1`), `${label}_bn1`), `${label}_relu1`);
      branch = norm(conv(branch, width, 3, 1, `${label}_conv2`), `${label}_bn2`, true);
      const shortcut = strides === 1 && channels === width ? x : norm(conv(x, width, 1, strides, `${label}_proj`), `${label}_proj_bn`);
      x = relu(tf.layers.add({ name: `${label}_add` }).apply([branch, shortcut]) as tf.SymbolicTensor, `${label}_relu2`);
      channels = width;
    }
  });
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + layerIndex++ }), name: 'output' })
    .apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name });
}
