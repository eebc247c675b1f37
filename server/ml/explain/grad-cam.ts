// Grad-CAM (Selvaraju et al., 2017): which parts of the image pushed the score. The feature maps
// of the last convolutional block, weighted by how much the logit changes with each of them
// (the spatially averaged gradient), summed and rectified: a coarse map of positive evidence.
// An ensemble has one such block per member; their weighted maps add up before rectifying, as
// the members' logits add up to the ensemble's.
import { tf, type Tensor, type Tensor4D } from '../tf.js';
import { lastConvolutionalBlocks, outputLayer } from '../model-anatomy.js';
import { runGraph } from './run-graph.js';

export interface ActivationMap {
  /** Row-major, `height` x `width`, each value in [0, 1]; the strongest evidence is 1. */
  values: Float32Array;
  width: number;
  height: number;
  /** The layer whose feature maps were weighted (an ensemble's, joined by '+'). */
  layer: string;
  /** Which class's evidence the map shows: 1 = the positive class, 0 = the negative one. */
  targetClass: 0 | 1;
}

/**
 * The logit of `x` (one image) and the feature maps of each of `blocks`, with the matching
 * `deltas` added to them so that the gradient with respect to a delta is the gradient with
 * respect to its maps.
 */
function logitWithProbes(model: tf.LayersModel, x: Tensor4D, blocks: tf.layers.Layer[], deltas: Tensor4D[]): { logit: Tensor; maps: Tensor4D[] } {
  const head = outputLayer(model);
  const embeddingSymbol = head.input as tf.SymbolicTensor;
  const probeOf = new Map(blocks.map((block, i) => [(block.output as tf.SymbolicTensor).id, i]));
  const maps: Tensor4D[] = [];
  const [embedding] = runGraph([embeddingSymbol], new Map([[model.inputs[0]!.id, x]]), (symbolic, value) => {
    const i = probeOf.get(symbolic.id);
    if (i === undefined) return value;
    maps[i] = value as Tensor4D;
    return tf.add(value, deltas[i]!);
  });
  blocks.forEach((block, i) => {
    if (!maps[i]) throw new Error(`the forward pass did not reach ${block.name}`);
  });
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
  const blocks = lastConvolutionalBlocks(model);
  const [, height, width] = blocks[0]!.outputShape as number[];
  // The feature maps are needed after the gradient's own scope has ended.
  const kept: Tensor[] = [];
  try {
    const result = tf.tidy(() => {
      let maps: Tensor4D[] = [];
      let logitValue = 0;
      const deltas = blocks.map((block) => {
        const [, h, w, c] = block.outputShape as number[];
        return tf.zeros([1, h!, w!, c!]) as Tensor4D;
      });
      const gradients = tf.grads((...d: Tensor[]) => {
        const probe = logitWithProbes(model, x, blocks, d as Tensor4D[]);
        maps = probe.maps;
        kept.push(...maps.map((m) => tf.keep(m)));
        logitValue = probe.logit.dataSync()[0]!;
        return probe.logit;
      })(deltas) as Tensor4D[];
      const probability = 1 / (1 + Math.exp(-logitValue));
      const targetClass = options.targetClass ?? (probability >= (options.threshold ?? 0.5) ? 1 : 0);
      // The negative class's evidence is what lowers the logit.
      const weighted = gradients.map((gradient, i) => {
        const signed = targetClass === 1 ? gradient : tf.neg(gradient);
        return tf.sum(tf.mul(maps[i]!, tf.mean(signed, [1, 2], true)), 3);
      });
      const cam = tf.relu(weighted.length === 1 ? weighted[0]! : tf.addN(weighted));
      const peak = cam.max().dataSync()[0]!;
      const normalised = peak > 0 && Number.isFinite(peak) ? tf.div(cam, peak) : tf.zerosLike(cam);
      return { values: Float32Array.from(normalised.dataSync()), targetClass };
    });
    const values = result.values.map((v) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0));
    return { values, width: width!, height: height!, layer: blocks.map((block) => block.name).join('+'), targetClass: result.targetClass };
  } finally {
    tf.dispose(kept);
  }
}
