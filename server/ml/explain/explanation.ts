// The explanation of one prediction: the Grad-CAM map of the model's input and its pictures.
// Two steps, so a server can compute the map where the model lives and draw it elsewhere.
import type { tf } from '../tf.js';
import { pixelsToTensor, type DecodedImage } from '../preprocess.js';
import { gradCam, type ActivationMap } from './grad-cam.js';
import { renderExplanation } from './rendered-explanation.js';
export { renderExplanation } from './rendered-explanation.js';
export type { Explanation } from './rendered-explanation.js';
import type { Explanation } from './rendered-explanation.js';

/** The Grad-CAM map of one decoded image (`size` x `size` RGB pixels) for `targetClass`. */
export function explanationMap(model: tf.LayersModel, pixels: Uint8Array, size: number, targetClass: 0 | 1): ActivationMap {
  const x = pixelsToTensor([pixels], size);
  try {
    return gradCam(model, x, { targetClass });
  } finally {
    x.dispose();
  }
}

/**
 * Explains `decoded` (the model's input made from `bytes`) for `targetClass`: 1 shows what
 * speaks for the positive class, 0 what speaks against it.
 */
export async function explainPrediction(model: tf.LayersModel, decoded: DecodedImage, bytes: Buffer, targetClass: 0 | 1, maxSide?: number): Promise<Explanation> {
  const started = performance.now();
  const map = explanationMap(model, decoded.pixels, decoded.size, targetClass);
  return renderExplanation(map, bytes, decoded.original, performance.now() - started, maxSide);
}
