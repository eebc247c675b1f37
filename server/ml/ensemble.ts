// Several independently trained networks as one: each member becomes a tower of a single
// functional model fed the same image, and one sigmoid unit over the towers' joined embeddings
// outputs the mean of the members' logits. Averaging members trained from different seeds ranks
// images better than any one of them (their errors differ), and because the result is an
// ordinary one-output network, everything downstream (views, temperature, threshold, guard,
// explanations, storage) treats it like any other model.
import { tf } from './tf.js';
import { outputLayer, UnsupportedModelError } from './model-anatomy.js';

type Layer = tf.layers.Layer;
type Symbolic = tf.SymbolicTensor;

/** Prefix of member m's layer names (m from 0): `m1_conv1`, `m2_conv1`, ... */
const memberPrefix = (m: number) => `m${m + 1}_`;

/** A fresh, unbuilt copy of `layer` under another name (same class and configuration). */
function cloneLayer(layer: Layer, name: string): Layer {
  const Class = layer.constructor as new (config: object) => Layer;
  return new Class({ ...layer.getConfig(), name });
}

/**
 * Rebuilds `member` on `input` with every layer renamed by `prefix` and carrying the member's
 * weights; returns its embedding (the input of its one-unit output layer).
 */
function tower(member: tf.LayersModel, input: Symbolic, prefix: string): Symbolic {
  const [memberInput] = member.inputs;
  if (member.inputs.length !== 1 || !memberInput) throw new UnsupportedModelError('an ensemble member must have one input');
  const embedding = outputLayer(member).input;
  if (Array.isArray(embedding)) throw new UnsupportedModelError('the output layer has several inputs');
  const clones = new Map<Layer, Layer>();
  const mapped = new Map<number, Symbolic>([[memberInput.id, input]]);
  const rebuild = (symbolic: Symbolic): Symbolic => {
    const known = mapped.get(symbolic.id);
    if (known) return known;
    if (symbolic.inputs.length === 0) throw new UnsupportedModelError(`member input ${symbolic.name} is not the image`);
    const inputs = symbolic.inputs.map(rebuild);
    const layer = symbolic.sourceLayer;
    let clone = clones.get(layer);
    if (!clone) {
      clone = cloneLayer(layer, `${prefix}${layer.name}`);
      clones.set(layer, clone);
    }
    const output = clone.apply(inputs.length === 1 ? inputs[0]! : inputs, symbolic.callArgs) as Symbolic | Symbolic[];
    const result = Array.isArray(output) ? output[symbolic.outputTensorIndex ?? 0]! : output;
    mapped.set(symbolic.id, result);
    return result;
  };
  const result = rebuild(embedding);
  for (const [layer, clone] of clones) clone.setWeights(layer.getWeights());
  return result;
}

/**
 * One model whose output is sigmoid(mean of the members' logits). The members must end in a
 * one-unit sigmoid dense layer and take the same input; they stay the caller's (the ensemble has
 * its own copy of their weights).
 */
export function combineMembers(members: tf.LayersModel[]): tf.LayersModel {
  if (members.length === 0) throw new RangeError('an ensemble needs at least one member');
  const shape = members[0]!.inputs[0]!.shape.slice(1) as number[];
  for (const member of members) {
    if (JSON.stringify(member.inputs[0]!.shape.slice(1)) !== JSON.stringify(shape)) throw new UnsupportedModelError('ensemble members must take the same input shape');
    const head = outputLayer(member);
    if ((head.getConfig() as { activation?: string }).activation !== 'sigmoid') throw new UnsupportedModelError('ensemble members must end in a sigmoid unit');
  }
  const input = tf.input({ shape, name: 'image' });
  const embeddings = members.map((member, m) => tower(member, input, memberPrefix(m)));
  const joined = embeddings.length === 1 ? embeddings[0]! : (tf.layers.concatenate({ name: 'members' }).apply(embeddings) as Symbolic);
  const head = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'output' });
  const output = head.apply(joined) as Symbolic;
  const model = tf.model({ inputs: input, outputs: output, name: 'ensemble' });
  // Mean of the logits: each member's kernel and bias divided by the member count.
  const [kernel, bias] = tf.tidy(() => {
    const heads = members.map((member) => outputLayer(member).getWeights());
    const scale = 1 / members.length;
    return [tf.mul(tf.concat(heads.map((w) => w[0]!), 0), scale), tf.mul(tf.addN(heads.map((w) => w[1]!)), scale)];
  });
  head.setWeights([kernel, bias]);
  tf.dispose([kernel, bias]);
  return model;
}
