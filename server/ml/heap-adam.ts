// Adam(W) for the single-thread engine on the WASM backend: tf.train.adam's update (same
// defaults, bias correction and epsilon) as one SIMD pass per variable over the tensors where
// they lie on the backend's heap (kernels.wat, adamStep), instead of tf.train.adam's ten or so
// elementwise kernels per variable and the decay's own pass (~16 ms a step for the original
// CNN's 2.45 M weights on one thread, ~2 ms this way).
import { tf } from './tf.js';
import { currentWasmBackend, type WasmBackend } from './kernels/wasm-kernel-utils.js';
import { heapOffset, simdKernels, type SimdKernels } from './kernels/simd/simd-kernels.js';
import { AdamBiasCorrection } from './parallel/flat-adam.js';

export class HeapAdam {
  private readonly moments: { first: tf.Tensor; second: tf.Tensor }[];
  private readonly correction = new AdamBiasCorrection();

  private constructor(
    private readonly backend: WasmBackend,
    private readonly kernels: SimdKernels,
    private readonly variables: tf.Variable[],
    /** Whether weight decay applies to each variable. */
    private readonly decayed: boolean[],
    private readonly weightDecay: number,
  ) {
    this.moments = variables.map((v) => ({ first: tf.zerosLike(v), second: tf.zerosLike(v) }));
  }

  /** Undefined unless the backend is WASM and its memory runs this project's SIMD kernels. */
  static forCurrentBackend(variables: tf.Variable[], decayed: boolean[], weightDecay: number): HeapAdam | undefined {
    const backend = currentWasmBackend();
    const kernels = backend && simdKernels(backend);
    return backend && kernels ? new HeapAdam(backend, kernels, variables, decayed, weightDecay) : undefined;
  }

  /** One step with `grads` (by variable name), every variable in one pass of its own. */
  apply(grads: tf.NamedTensorMap, learningRate: number): void {
    const { backend, kernels } = this;
    const at = (info: tf.TensorInfo) => heapOffset(backend, info);
    const { stepSize, inverseCorrection2, beta1, beta2 } = this.correction.scalars(learningRate);
    const shrink = 1 - learningRate * this.weightDecay;
    this.variables.forEach((v, i) => {
      const gradient = grads[v.name];
      if (!gradient) throw new Error(`no gradient for ${v.name}`);
      const { first, second } = this.moments[i]!;
      // New weights into a fresh tensor, not over the variable's memory: WASM caches XNNPACK
      // operators with their weights packed, keyed by the weight tensor.
      const next = backend.makeOutput(v.shape, 'float32');
      // One gradient, given as its own "sum": the kernel then copies nothing.
      kernels.adamStep(
        at(v), at(next), at(gradient), at(gradient), 1, at(gradient), at(first), at(second), v.size,
        beta1, beta2, stepSize, inverseCorrection2, backend.epsilon(), this.decayed[i] ? shrink : 1,
      );
      const value = tf.engine().makeTensorFromTensorInfo(next);
      v.assign(value);
      value.dispose();
    });
    this.correction.advance();
  }

  dispose(): void {
    tf.dispose(this.moments.flatMap(({ first, second }) => [first, second]));
  }
}
