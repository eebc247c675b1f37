// An explanation as the API returns it: the activation map drawn over the uploaded picture.
// Drawing needs sharp only, so it runs in the thread that handles the request.
import type { DecodedImage } from '../preprocess.js';
import type { ActivationMap } from './grad-cam.js';
import { renderHeatmap, type HeatmapImages } from './heatmap-image.js';

export interface Explanation extends HeatmapImages {
  method: 'grad-cam';
  map: ActivationMap;
  /** Time to compute the map and draw it. */
  ms: number;
}

/** Draws `map` over the uploaded picture; `mapMs` is what computing the map took. */
export async function renderExplanation(map: ActivationMap, bytes: Buffer, original: DecodedImage['original'], mapMs: number, maxSide?: number): Promise<Explanation> {
  const started = performance.now();
  const images = await renderHeatmap(bytes, original, map, maxSide);
  return { method: 'grad-cam', map, ...images, ms: mapMs + performance.now() - started };
}

