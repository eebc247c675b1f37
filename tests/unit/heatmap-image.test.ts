// The heatmap pictures: right size and shape, the heat where the map puts it, nothing outside the
// square the model saw, and the photo dimmed there in the overlay.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { centreCrop, renderHeatmap } from '../../server/ml/explain/heatmap-image.js';
import type { ActivationMap } from '../../server/ml/explain/grad-cam.js';
import { solidImage } from '../helpers/images.js';

/** An 8x8 map that is 1 in its top-left 2x2 cells and 0 elsewhere. */
const cornerMap: ActivationMap = {
  values: Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 2 && Math.floor(i / 8) < 2 ? 1 : 0)),
  width: 8,
  height: 8,
  layer: 'test',
  targetClass: 1,
};

describe('centreCrop', () => {
  it('is the centred square of the shorter side, as fractions', () => {
    expect(centreCrop({ width: 300, height: 200 })).toEqual({ left: 50 / 300, top: 0, width: 200 / 300, height: 1 });
    expect(centreCrop({ width: 100, height: 400 })).toEqual({ left: 0, top: 150 / 400, width: 1, height: 100 / 400 });
  });
});

describe('renderHeatmap', () => {
  it('draws the heat inside the model crop where the map is hot, at the photo aspect ratio', async () => {
    const photo = await solidImage(900, 600, [200, 160, 140]);
    const images = await renderHeatmap(photo, { width: 900, height: 600, format: 'png' }, cornerMap, 300);
    expect([images.width, images.height]).toEqual([300, 200]);

    const heat = await sharp(images.heatmapPng).raw().toBuffer({ resolveWithObject: true });
    expect([heat.info.width, heat.info.height, heat.info.channels]).toEqual([300, 200, 4]);
    const alpha = (x: number, y: number) => heat.data[(y * 300 + x) * 4 + 3]!;
    // The crop is x 50..249; its top-left quarter of a quarter is hot, the rest cold.
    expect(alpha(60, 10)).toBeGreaterThan(150);
    expect(alpha(240, 190)).toBe(0);
    expect(alpha(150, 100)).toBe(0);
    // Outside the crop there is no heat at all, even next to the hot corner.
    for (const y of [0, 10, 199]) for (const x of [0, 49, 250, 299]) expect(alpha(x, y)).toBe(0);
    // Rows are drawn whole: the hot corner is as hot at its left edge as 20 pixels further right.
    expect(Math.abs(alpha(55, 12) - alpha(75, 12))).toBeLessThan(40);

    const overlay = await sharp(images.overlayPng).raw().toBuffer({ resolveWithObject: true });
    expect([overlay.info.width, overlay.info.height]).toEqual([300, 200]);
    const red = (x: number, y: number) => overlay.data[(y * 300 + x) * overlay.info.channels]!;
    expect(red(150, 100)).toBe(200); // untouched inside the crop where there is no heat
    expect(red(20, 100)).toBe(Math.round(200 * 0.45)); // dimmed outside the crop
  });
});
