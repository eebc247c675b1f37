// Draws an activation map as pictures people can read: a heat layer (transparent where there is
// no evidence) and the same layer laid over the photo, both at the photo's own aspect ratio. The
// model saw only the centred square crop of the photo; outside it the overlay is dimmed.
import sharp from 'sharp';
import type { OriginalImage } from '../preprocess.js';
import type { ActivationMap } from './grad-cam.js';

/** Where the model's square input lies in the photo, as fractions of its width and height. */
export interface CropRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface HeatmapImages {
  /** The photo with the heat layer over it, PNG. */
  overlayPng: Buffer;
  /** The heat layer alone, RGBA PNG, the same size as the overlay. */
  heatmapPng: Buffer;
  width: number;
  height: number;
  region: CropRegion;
}

/** The centred square `decodeImage` crops ('cover', centre) before resizing. */
export function centreCrop(original: Pick<OriginalImage, 'width' | 'height'>): CropRegion {
  const side = Math.min(original.width, original.height);
  return {
    left: (original.width - side) / 2 / original.width,
    top: (original.height - side) / 2 / original.height,
    width: side / original.width,
    height: side / original.height,
  };
}

// A perceptually ordered dark-purple -> red -> yellow scale (close to matplotlib's "inferno"),
// readable by most colour-blind viewers and on both light and dark skin.
const STOPS: [number, [number, number, number]][] = [
  [0, [20, 11, 52]],
  [0.25, [101, 21, 110]],
  [0.5, [188, 55, 84]],
  [0.75, [249, 142, 9]],
  [1, [252, 255, 164]],
];

const COLOURS = Array.from({ length: 256 }, (_, i) => {
  const t = i / 255;
  const k = Math.min(STOPS.length - 2, Math.floor(t * (STOPS.length - 1)));
  const [t0, c0] = STOPS[k]!;
  const [t1, c1] = STOPS[k + 1]!;
  const f = (t - t0) / (t1 - t0);
  return c0.map((v, j) => Math.round(v + (c1[j]! - v) * f)) as [number, number, number];
});

/** Below this share of the peak a cell is left transparent: weak evidence would only add noise. */
const MIN_VISIBLE = 0.15;
const MAX_ALPHA = 0.8;

/** The map scaled smoothly to `side` x `side` and coloured, as raw RGBA. */
async function heatLayer(map: ActivationMap, side: number): Promise<Buffer> {
  const grey = Buffer.from(Uint8Array.from(map.values, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  const { data: scaled, info } = await sharp(grey, { raw: { width: map.width, height: map.height, channels: 1 } })
    .resize(side, side, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  // sharp may hand single-channel data back as sRGB: read the first channel of each pixel.
  const stride = info.channels;
  const rgba = Buffer.alloc(side * side * 4);
  for (let i = 0; i < side * side; i++) {
    const v = scaled[i * stride]!;
    const [r, g, b] = COLOURS[v]!;
    const t = v / 255;
    const alpha = t < MIN_VISIBLE ? 0 : MAX_ALPHA * ((t - MIN_VISIBLE) / (1 - MIN_VISIBLE)) ** 0.7;
    rgba.set([r, g, b, Math.round(alpha * 255)], i * 4);
  }
  return rgba;
}

/**
 * Renders `map` over the photo `bytes` (already accepted by `decodeImage`), scaled so its longer
 * side is at most `maxSide`.
 */
export async function renderHeatmap(bytes: Buffer, original: OriginalImage, map: ActivationMap, maxSide = 512): Promise<HeatmapImages> {
  const scale = Math.min(1, maxSide / Math.max(original.width, original.height));
  const width = Math.max(1, Math.round(original.width * scale));
  const height = Math.max(1, Math.round(original.height * scale));
  const region = centreCrop(original);
  const side = Math.max(1, Math.round(Math.min(width, height)));
  // Rounding must not push the square past the picture's edge.
  const left = Math.min(width - side, Math.round(region.left * width));
  const top = Math.min(height - side, Math.round(region.top * height));

  const layer = await heatLayer(map, side);
  const heatmapPng = await sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: layer, raw: { width: side, height: side, channels: 4 }, left, top }])
    .png()
    .toBuffer();

  const photo = await sharp(bytes, { pages: 1, limitInputPixels: original.width * original.height })
    .autoOrient()
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace('srgb')
    .resize(width, height, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer();
  // Dim what the model did not see (the edges the square crop cut off).
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x >= left && x < left + side && y >= top && y < top + side) continue;
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) photo[i + c] = Math.round(photo[i + c]! * 0.45);
    }
  }
  const overlayPng = await sharp(photo, { raw: { width, height, channels: 3 } })
    .composite([{ input: layer, raw: { width: side, height: side, channels: 4 }, left, top }])
    .png()
    .toBuffer();
  return { overlayPng, heatmapPng, width, height, region };
}
