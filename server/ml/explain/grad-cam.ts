// Grad-CAM (Selvaraju et al., 2017): which parts of the image pushed the score. The feature maps
// of the last convolutional block, weighted by how much the logit changes with each of them
// (the spatially averaged gradient), summed and rectified: a coarse map of positive evidence.
import { tf, type Tensor, type Tensor4D } from '../tf.js';
import { lastConvolutionalBlock, outputLayer } from '../model-anatomy.js';
import { runGraph } from './run-graph.js';

export interface ActivationMap {
  /** Row-major, `height` x `width`, each value in [0, 1]; the strongest evidence is 1. */
  values: Float32Array;
  width: number;
  height: number;
  /** The layer whose feature maps were weighted. */
  layer: string;
  /** Which class's evidence the map shows: 1 = the positive class, 0 = the negative one. */
  targetClass: 0 | 1;
}

/**
 * The logit of `x` (one image) and the feature maps of `block`, with `delta` added to those maps
 * so that the gradient with respect to `delta` is the gradient with respect to the maps.
 */
function logitWithProbe(model: tf.LayersModel, x: Tensor4D, block: tf.layers.Layer, delta: Tensor4D): { logit: Tensor; maps: Tensor4D } {
  const head = outputLayer(model);
  const embeddingSymbol = head.input as tf.SymbolicTensor;
  const blockSymbol = block.output as tf.SymbolicTensor;
  let maps: Tensor4D | undefined;
  const [embedding] = runGraph([embeddingSymbol], new Map([[model.inputs[0]!.id, x]]), (symbolic, value) => {
    if (symbolic.id !== blockSymbol.id) return value;
    maps = value as Tensor4D;
    return tf.add(value, delta);
  });
  if (!maps) throw new Error(`the forward pass did not reach ${block.name}`);
  // The pre-sigmoid score: the probability's gradient vanishes once the sigmoid saturates.
  const [kernel, bias] = head.getWeights();
  const weighted = tf.matMul(embedding as tf.Tensor2D, kernel as tf.Tensor2D);
  return { logit: tf.sum(bias ? tf.add(weighted, bias) : weighted), maps };
}

/**
 * Grad-CAM of one image `x` ([1, size, size, 3], the model's input). By default it explains the
 * class the model predicts at `threshold`; no tensors are left behind.
 */
export function gradCam(model: tf.LayersModel, x: Tensor4D, options: { targetClass?: 0 | 1; threshold?: number } = {}): ActivationMap {
  if (x.shape[0] !== 1) throw new RangeError(`gradCam explains one image at a time, got ${x.shape[0]}`);
  const block = lastConvolutionalBlock(model);
  const [, height, width, channels] = block.outputShape as number[];
  // The feature maps are needed after the gradient's own scope has ended.
  let kept: Tensor | undefined;
  try {
    const result = tf.tidy(() => {
      let maps: Tensor4D | undefined;
      let logitValue = 0;
      const delta = tf.zeros([1, height!, width!, channels!]) as Tensor4D;
      const gradient = tf.grad((d: Tensor) => {
        const probe = logitWithProbe(model, x, block, d as Tensor4D);
        kept = tf.keep(probe.maps);
        maps = probe.maps;
        logitValue = probe.logit.dataSync()[0]!;
        return probe.logit;
      })(delta) as Tensor4D;
      const probability = 1 / (1 + Math.exp(-logitValue));
      const targetClass = options.targetClass ?? (probability >= (options.threshold ?? 0.5) ? 1 : 0);
      // The negative class's evidence is what lowers the logit.
      const signed = targetClass === 1 ? gradient : tf.neg(gradient);
      const weights = tf.mean(signed, [1, 2], true);
      const cam = tf.relu(tf.sum(tf.mul(maps!, weights), 3));
      const peak = cam.max().dataSync()[0]!;
      const normalised = peak > 0 && Number.isFinite(peak) ? tf.div(cam, peak) : tf.zerosLike(cam);
      return { values: Float32Array.from(normalised.dataSync()), targetClass };
    });
    const values = result.values.map((v) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0));
    return { values, width: width!, height: height!, layer: block.name, targetClass: result.targetClass };
  } finally {
    kept?.dispose();
  }
}
