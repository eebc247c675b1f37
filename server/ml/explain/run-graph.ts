// Runs a network's layers eagerly from symbolic tensors. LayersModel.predict frees each
// activation as soon as the next layer has used it, which breaks a gradient taken through
// intermediate layers; here every activation lives until the caller's tf.tidy / tf.grad ends.
import { tf, type Tensor } from '../tf.js';

type Symbolic = tf.SymbolicTensor;

/**
 * Values of `fetches` given `feeds` (symbolic tensor id -> value, at least the model inputs).
 * `substitute` may replace a tensor's computed value (e.g. add a probe); it sees every one once.
 */
export function runGraph(fetches: Symbolic[], feeds: Map<number, Tensor>, substitute: (symbolic: Symbolic, value: Tensor) => Tensor = (_, v) => v): Tensor[] {
  const values = new Map(feeds);
  const valueOf = (symbolic: Symbolic): Tensor => {
    const known = values.get(symbolic.id);
    if (known) return known;
    if (symbolic.inputs.length === 0) throw new Error(`no value fed for the model input ${symbolic.name}`);
    const inputs = symbolic.inputs.map(valueOf);
    const output = symbolic.sourceLayer.apply(inputs.length === 1 ? inputs[0]! : inputs, { ...symbolic.callArgs, training: false });
    // Concrete inputs give concrete outputs.
    const value = (Array.isArray(output) ? output[symbolic.outputTensorIndex ?? 0]! : output) as Tensor;
    const result = substitute(symbolic, value);
    values.set(symbolic.id, result);
    return result;
  };
  return fetches.map(valueOf);
}
