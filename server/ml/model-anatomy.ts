// Finds the parts of a network that explanations and the input guard look at, by layer class
// and shape rather than by name, so every registered architecture (and any added later) works.
import { tf } from './tf.js';

type Layer = tf.layers.Layer;

const CONVOLUTION_CLASSES = new Set(['Conv2D', 'SeparableConv2D', 'DepthwiseConv2D']);

export class UnsupportedModelError extends Error {
  readonly code = 'UNSUPPORTED_MODEL';
}

function outputShapeOf(layer: Layer): (number | null)[] {
  const shape = layer.outputShape;
  // A layer used once has one output shape; a shared layer would have a list of them.
  if (Array.isArray(shape[0])) throw new UnsupportedModelError(`layer ${layer.name} has several outputs`);
  return shape as (number | null)[];
}

/** The single-unit dense layer that produces the probability: its input is the image's embedding. */
export function outputLayer(model: tf.LayersModel): Layer {
  const last = model.layers[model.layers.length - 1];
  const units = last ? outputShapeOf(last).at(-1) : undefined;
  if (!last || last.getClassName() !== 'Dense' || units !== 1) {
    throw new UnsupportedModelError('the network does not end in a one-unit dense layer');
  }
  return last;
}

/** Every layer `symbolic` depends on, itself included. */
function layersBehind(symbolic: tf.SymbolicTensor, found = new Set<Layer>()): Set<Layer> {
  if (found.has(symbolic.sourceLayer)) return found;
  found.add(symbolic.sourceLayer);
  for (const input of symbolic.inputs) layersBehind(input, found);
  return found;
}

/**
 * The output of the last convolutional block (among `within`, default every layer): the last
 * layer after the last convolution whose output is still a feature map of that convolution's
 * resolution (its batch norm, activation or residual addition), i.e. the finest map that has
 * seen the whole network's convolutions.
 */
export function lastConvolutionalBlock(model: tf.LayersModel, within?: Set<Layer>): Layer {
  const layers = within ? model.layers.filter((layer) => within.has(layer)) : model.layers;
  let lastConv = -1;
  layers.forEach((layer, i) => {
    if (CONVOLUTION_CLASSES.has(layer.getClassName())) lastConv = i;
  });
  if (lastConv < 0) throw new UnsupportedModelError('the network has no convolution layer');
  const [, height, width] = outputShapeOf(layers[lastConv]!);
  let block = lastConv;
  for (let i = lastConv + 1; i < layers.length; i++) {
    const shape = outputShapeOf(layers[i]!);
    if (shape.length === 4 && shape[1] === height && shape[2] === width) block = i;
  }
  return layers[block]!;
}

/**
 * The last convolutional block of each branch the output layer reads: one for an ordinary
 * network; one per member of an ensemble, whose output layer reads the members' embeddings
 * joined (ensemble.ts). Branches whose maps differ in size from the first are left out, so the
 * blocks' maps can be added.
 */
export function lastConvolutionalBlocks(model: tf.LayersModel): Layer[] {
  const embedding = outputLayer(model).input as tf.SymbolicTensor;
  const branches = embedding.sourceLayer.getClassName() === 'Concatenate' ? embedding.inputs : [embedding];
  const blocks = branches.map((branch) => lastConvolutionalBlock(model, layersBehind(branch)));
  const size = (layer: Layer) => outputShapeOf(layer).slice(1, 3).join('x');
  return blocks.filter((block) => size(block) === size(blocks[0]!));
}

const embeddingModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

/**
 * A view of `model` that stops at the input of its output layer (the penultimate activations).
 * It shares the weights: never dispose it; it goes when `model` does.
 */
export function embeddingModel(model: tf.LayersModel): tf.LayersModel {
  let view = embeddingModels.get(model);
  if (!view) {
    const input = outputLayer(model).input;
    if (Array.isArray(input)) throw new UnsupportedModelError('the output layer has several inputs');
    view = tf.model({ inputs: model.inputs, outputs: input });
    embeddingModels.set(model, view);
  }
  return view;
}

const withEmbeddingModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

/**
 * `model` with two outputs, [penultimate activations, probability], so a pass that scores images
 * also yields their embeddings at no extra cost. Shares the weights: never dispose it.
 */
export function modelWithEmbedding(model: tf.LayersModel): tf.LayersModel {
  let view = withEmbeddingModels.get(model);
  if (!view) {
    const embedding = embeddingModel(model).outputs[0]!;
    view = tf.model({ inputs: model.inputs, outputs: [embedding, model.outputs[0]!] });
    withEmbeddingModels.set(model, view);
  }
  return view;
}

/** Penultimate activations of a batch, one row per image. `x` stays the caller's. */
export function embed(model: tf.LayersModel, x: tf.Tensor4D): { values: Float32Array; dim: number } {
  const out = embeddingModel(model).predict(x) as tf.Tensor;
  try {
    const dim = out.size / x.shape[0];
    return { values: Float32Array.from(out.dataSync()), dim };
  } finally {
    out.dispose();
  }
}
