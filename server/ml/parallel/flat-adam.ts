// Adam over one range of a flat weight vector, in a single pass that also adds up the
// replicas' gradients. tf.train.adam's update (same defaults, same bias correction, epsilon
// added to the square root) without its ten tensor passes and allocations per variable; each
// replica updates only its own range, so the optimizer's cost is split between the threads
// instead of repeated in each. When every array lies in one WebAssembly memory, the pass runs
// as a SIMD kernel (kernels.wat, adamStep) in float32, as tf.train.adam computes; otherwise
// as a JS loop.
import { simdKernelsOn, type SimdKernels, type WasmMemory } from '../kernels/simd/simd-kernels.js';

export interface AdamSettings {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** tf.train.adam takes the backend's float epsilon (1e-7 for float32) when none is given. */
  epsilon: number;
  /** Decoupled weight decay per unit of learning rate (AdamW), on the weights `decayMask` marks. */
  weightDecay?: number;
  /** 1 where weight decay applies, over the whole flat vector (not just this range). */
  decayMask?: Uint8Array;
}

/** Where the optimizer keeps its moments: each `to - from` floats, for its range. */
export interface AdamMoments {
  first: Float32Array;
  second: Float32Array;
}

/** tf.train.adam's bias correction: beta^t after t steps (starting at beta), as it keeps them. */
export class AdamBiasCorrection {
  private accBeta1: number;
  private accBeta2: number;

  constructor(
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
  ) {
    this.accBeta1 = beta1;
    this.accBeta2 = beta2;
  }

  /** The step's scalars: w -= stepSize * m / (sqrt(v * inverseCorrection2) + epsilon). */
  scalars(learningRate: number): { beta1: number; beta2: number; stepSize: number; inverseCorrection2: number } {
    return { beta1: this.beta1, beta2: this.beta2, stepSize: learningRate / (1 - this.accBeta1), inverseCorrection2: 1 / (1 - this.accBeta2) };
  }

  /** After each step. */
  advance(): void {
    this.accBeta1 *= this.beta1;
    this.accBeta2 *= this.beta2;
  }
}

/** A run of the range where weight decay is on throughout or off throughout. */
interface DecayRun {
  from: number;
  to: number;
  decayed: boolean;
}

export class FlatAdam {
  private readonly firstMoment: Float32Array;
  private readonly secondMoment: Float32Array;
  private readonly correction: AdamBiasCorrection;
  private readonly kernels: SimdKernels | undefined;
  private readonly runs: DecayRun[];

  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly settings: AdamSettings,
    moments?: AdamMoments,
    /** The memory holding the weights, gradients, summed gradient and moments: steps then run the SIMD kernel. */
    private readonly memory?: WasmMemory,
  ) {
    this.correction = new AdamBiasCorrection(settings.beta1, settings.beta2);
    if (moments && (moments.first.length !== to - from || moments.second.length !== to - from)) {
      throw new RangeError(`Adam's moments must hold ${to - from} values each`);
    }
    this.firstMoment = moments?.first ?? new Float32Array(to - from);
    this.secondMoment = moments?.second ?? new Float32Array(to - from);
    this.kernels = memory ? simdKernelsOn(memory) : undefined;
    this.runs = decayRuns(from, to, settings.decayMask);
  }

  /** Whether steps on arrays in its memory run the SIMD kernel (else the JS loop). */
  get simd(): boolean {
    return this.kernels !== undefined;
  }

  /**
   * For i in this optimizer's range: summed[i] = the sum of `gradients` (in the order given,
   * so every run adds alike), then weights[i] = weights[i] * (1 - lr * decay) - lr * m̂ / (sqrt(v̂) + epsilon),
   * decay being the weight decay where the mask is set and 0 elsewhere.
   */
  step(weights: Float32Array, gradients: Float32Array[], summed: Float32Array, learningRate = this.settings.learningRate): void {
    if (gradients.length === 0) throw new RangeError('an Adam step needs at least one gradient');
    if (this.kernels && this.inMemory(weights, summed, ...gradients)) this.kernelStep(this.kernels, weights, gradients, summed, learningRate);
    else this.loopStep(weights, gradients, summed, learningRate);
    this.correction.advance();
  }

  private inMemory(...arrays: Float32Array[]): boolean {
    const buffer = this.memory!.buffer;
    return [this.firstMoment, this.secondMoment, ...arrays].every((a) => a.buffer === buffer);
  }

  private kernelStep(kernels: SimdKernels, weights: Float32Array, gradients: Float32Array[], summed: Float32Array, learningRate: number): void {
    const { from } = this;
    // The kernel adds up to two slots itself; more (three replicas and up) are summed first.
    let [first, second] = gradients as [Float32Array, Float32Array | undefined];
    if (gradients.length > 2) {
      sumInto(summed, gradients, from, this.to);
      [first, second] = [summed, undefined];
    }
    const { beta1, beta2, stepSize, inverseCorrection2 } = this.correction.scalars(learningRate);
    const shrink = 1 - learningRate * (this.settings.weightDecay ?? 0);
    const at = (array: Float32Array, i: number) => array.byteOffset + 4 * i;
    for (const run of this.runs) {
      kernels.adamStep(
        at(weights, run.from),
        at(weights, run.from),
        at(first, run.from),
        at(second ?? first, run.from),
        second ? 2 : 1,
        at(summed, run.from),
        at(this.firstMoment, run.from - from),
        at(this.secondMoment, run.from - from),
        run.to - run.from,
        beta1,
        beta2,
        stepSize,
        inverseCorrection2,
        this.settings.epsilon,
        run.decayed ? shrink : 1,
      );
    }
  }

  private loopStep(weights: Float32Array, gradients: Float32Array[], summed: Float32Array, learningRate: number): void {
    const { firstMoment: m, secondMoment: v, from, to } = this;
    const { epsilon, decayMask } = this.settings;
    const shrink = 1 - learningRate * (this.settings.weightDecay ?? 0);
    const { beta1, beta2, stepSize, inverseCorrection2 } = this.correction.scalars(learningRate);
    const [first, ...rest] = gradients as [Float32Array, ...Float32Array[]];
    // Two slots (two replicas) are added inside the update loop: the arrays are larger than the
    // caches, so a pass of its own over them costs (7.4 -> 6.5 ms for 1.2 M). More are summed first.
    const second = rest.length === 1 ? rest[0]! : undefined;
    if (rest.length !== 1) sumInto(summed, gradients, from, to);
    // Loop invariants hoisted, a division and a branch less per weight: 10.4 -> 7.5 ms for 1.2 M.
    const mask = shrink !== 1 ? decayMask : undefined;
    for (let i = from, j = 0; i < to; i++, j++) {
      let g: number;
      if (second === undefined) g = summed[i]!;
      else summed[i] = g = Math.fround(first[i]! + second[i]!);
      const mj = beta1 * m[j]! + (1 - beta1) * g;
      const vj = beta2 * v[j]! + (1 - beta2) * g * g;
      m[j] = mj;
      v[j] = vj;
      const w = mask !== undefined && mask[i] === 1 ? weights[i]! * shrink : weights[i]!;
      weights[i] = w - (stepSize * mj) / (Math.sqrt(vj * inverseCorrection2) + epsilon);
    }
  }
}

/** summed[from, to) = the gradients added in order. */
function sumInto(summed: Float32Array, gradients: Float32Array[], from: number, to: number): void {
  summed.set(gradients[0]!.subarray(from, to), from);
  for (const gradient of gradients.slice(1)) {
    for (let i = from; i < to; i++) summed[i] += gradient[i]!;
  }
}

function decayRuns(from: number, to: number, mask: Uint8Array | undefined): DecayRun[] {
  const runs: DecayRun[] = [];
  for (let i = from; i < to; ) {
    const decayed = mask?.[i] === 1;
    let end = i + 1;
    while (end < to && (mask?.[end] === 1) === decayed) end++;
    runs.push({ from: i, to: end, decayed });
    i = end;
  }
  return runs;
}
