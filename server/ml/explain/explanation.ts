// The explanation of one prediction: the Grad-CAM map of the model's input and its pictures.
import type { tf } from '../tf.js';
import { pixelsToTensor, type DecodedImage } from '../preprocess.js';
import { gradCam, type ActivationMap } from './grad-cam.js';
import { renderHeatmap, type HeatmapImages } from './heatmap-image.js';

export interface Explanation extends HeatmapImages {
  method: 'grad-cam';
  map: ActivationMap;
  /** Time to compute the map and draw it. */
  ms: number;
}

/**
 * Explains `decoded` (the model's input made from `bytes`) for `targetClass`: 1 shows what
 * speaks for the positive class, 0 what speaks against it.
 */
export async function explainPrediction(model: tf.LayersModel, decoded: DecodedImage, bytes: Buffer, targetClass: 0 | 1, maxSide?: number): Promise<Explanation> {
  const started = performance.now();
  const x = pixelsToTensor([decoded.pixels], decoded.size);
  let map: ActivationMap;
  try {
    map = gradCam(model, x, { targetClass });
  } finally {
    x.dispose();
  }
  const images = await renderHeatmap(bytes, decoded.original, map, maxSide);
  return { method: 'grad-cam', map, ...images, ms: performance.now() - started };
}
