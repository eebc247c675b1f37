// The one place that imports tfjs, so every module shares a single engine instance
// (tfjs-node, when it loads, registers its backend into this same engine).
import * as tf from '@tensorflow/tfjs';

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, LayersModel, Scalar } from '@tensorflow/tfjs';
