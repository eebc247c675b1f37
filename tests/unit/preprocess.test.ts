import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { decodeImage, defaultImageLimits, pixelsToTensor, preprocess } from '../../server/ml/preprocess.js';
import { ImageError, type ImageErrorCode } from '../../server/ml/image-error.js';
import {
  encodeRaw,
  gradientPixels,
  noiseImage,
  noisePixels,
  pngDeclaringSize,
  rgbPixels,
  solidImage,
  type Rgb,
} from '../helpers/images.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const datasetDir = path.resolve(repoRoot, '../shared/datasets/skin-lesions');
const hasDataset = fs.existsSync(path.join(datasetDir, 'train'));

async function expectImageError(promise: Promise<unknown>, code: ImageErrorCode): Promise<ImageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ImageError ${code}`).toBeInstanceOf(ImageError);
  expect((error as ImageError).code).toBe(code);
  return error as ImageError;
}

function pixelAt(pixels: Uint8Array, size: number, x: number, y: number): number[] {
  const i = (y * size + x) * 3;
  return [pixels[i], pixels[i + 1], pixels[i + 2]];
}

function expectColourNear(actual: number[], expected: Rgb, tolerance: number): void {
  actual.forEach((value, channel) => expect(Math.abs(value - expected[channel]), `channel ${channel}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance));
}

function everyPixel(pixels: Uint8Array, test: (rgb: number[]) => boolean): boolean {
  for (let i = 0; i < pixels.length; i += 3) if (!test([pixels[i], pixels[i + 1], pixels[i + 2]])) return false;
  return true;
}

beforeAll(async () => {
  await initBackend();
});

describe('decodeImage: accepted formats', () => {
  it.each(['png', 'webp', 'tiff'] as const)('decodes lossless %s to exactly the source pixels', async (format) => {
    const source = gradientPixels(64, 64);
    const decoded = await decodeImage(await encodeRaw(source, 64, 64, 3, format), 64);
    expect(decoded.original).toEqual({ width: 64, height: 64, format });
    expect(decoded.size).toBe(64);
    expect(decoded.pixels).toBeInstanceOf(Uint8Array);
    expect(Array.from(decoded.pixels)).toEqual(Array.from(source));
  });

  it.each(['jpeg', 'gif'] as const)('decodes lossy %s close to the source pixels', async (format) => {
    const source = gradientPixels(64, 64);
    const decoded = await decodeImage(await encodeRaw(source, 64, 64, 3, format), 64);
    expect(decoded.original.format).toBe(format);
    let total = 0;
    for (let i = 0; i < source.length; i++) total += Math.abs(source[i] - decoded.pixels[i]);
    // JPEG is off by ~0.6 on average, a 256-colour GIF palette by ~3.
    expect(total / source.length).toBeLessThan(5);
  });

  it('resizes to size x size x 3 and keeps a flat colour flat', async () => {
    const colour: Rgb = [30, 160, 220];
    const decoded = await decodeImage(await solidImage(300, 200, colour, 'png'), 48);
    expect(decoded.pixels.length).toBe(48 * 48 * 3);
    // Owns its memory, so it can be transferred to a worker without dragging other bytes along.
    expect(decoded.pixels.buffer.byteLength).toBe(48 * 48 * 3);
    expect(decoded.original).toEqual({ width: 300, height: 200, format: 'png' });
    expect(everyPixel(decoded.pixels, (rgb) => rgb.every((v, c) => Math.abs(v - colour[c]) <= 1))).toBe(true);
  });

  it('centre-crops a wide image instead of squashing it', async () => {
    // 3 equal vertical bands: red | green | blue. A centre crop of the 96x32 image is all green.
    const source = rgbPixels(96, 32, (x) => (x < 32 ? [255, 0, 0] : x < 64 ? [0, 255, 0] : [0, 0, 255]));
    const decoded = await decodeImage(await encodeRaw(source, 96, 32, 3, 'png'), 32);
    expectColourNear(pixelAt(decoded.pixels, 32, 0, 16), [0, 255, 0], 2);
    expectColourNear(pixelAt(decoded.pixels, 32, 31, 16), [0, 255, 0], 2);
  });

  it('converts a 16-bit PNG to 8 bits', async () => {
    const deep = new Uint16Array(40 * 40 * 3);
    for (let i = 0; i < deep.length; i += 3) deep.set([65535, 32896, 0], i);
    const png16 = await sharp(deep, { raw: { width: 40, height: 40, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const decoded = await decodeImage(png16, 32);
    // 32896 / 65535 * 255 = 128.
    expect(everyPixel(decoded.pixels, (rgb) => Math.abs(rgb[0] - 255) <= 1 && Math.abs(rgb[1] - 128) <= 1 && rgb[2] <= 1)).toBe(true);
  });

  it('flattens transparency onto white', async () => {
    // Left half fully transparent black, right half opaque red.
    const rgba = new Uint8Array(64 * 64 * 4);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) rgba.set(x < 32 ? [0, 0, 0, 0] : [200, 0, 0, 255], (y * 64 + x) * 4);
    const decoded = await decodeImage(await encodeRaw(rgba, 64, 64, 4, 'png'), 64);
    expect(pixelAt(decoded.pixels, 64, 5, 5)).toEqual([255, 255, 255]);
    expect(pixelAt(decoded.pixels, 64, 60, 60)).toEqual([200, 0, 0]);
  });

  it('blends half-transparent black onto white as mid-grey', async () => {
    const rgba = new Uint8Array(40 * 40 * 4);
    for (let i = 0; i < rgba.length; i += 4) rgba.set([0, 0, 0, 128], i);
    const decoded = await decodeImage(await encodeRaw(rgba, 40, 40, 4, 'png'), 32);
    // 255 * (1 - 128/255) = 127.
    expectColourNear(pixelAt(decoded.pixels, 32, 16, 16), [127, 127, 127], 2);
  });

  it('expands greyscale to three equal channels', async () => {
    const grey = Uint8Array.from({ length: 64 * 64 }, (_, i) => (i % 64) * 4);
    const png = await encodeRaw(grey, 64, 64, 1, 'png');
    expect((await sharp(png).metadata()).channels).toBe(1);
    const decoded = await decodeImage(png, 64);
    for (const x of [0, 10, 63]) expect(pixelAt(decoded.pixels, 64, x, 7)).toEqual([x * 4, x * 4, x * 4]);
  });

  it('converts a CMYK JPEG to RGB', async () => {
    const skin: Rgb = [200, 150, 120];
    const cmyk = await sharp(rgbPixels(64, 64, () => skin), { raw: { width: 64, height: 64, channels: 3 } })
      .toColourspace('cmyk')
      .jpeg({ quality: 95 })
      .toBuffer();
    const header = await sharp(cmyk).metadata();
    expect([header.space, header.channels]).toEqual(['cmyk', 4]);
    const decoded = await decodeImage(cmyk, 32);
    expect(decoded.pixels.length).toBe(32 * 32 * 3);
    // Through a CMYK profile and back: close, not exact. Misread CMYK would be inverted/black.
    expectColourNear(pixelAt(decoded.pixels, 32, 16, 16), skin, 10);
  });

  it('takes the first frame of an animated GIF', async () => {
    const red = await solidImage(48, 48, [255, 0, 0]);
    const blue = await solidImage(48, 48, [0, 0, 255]);
    const gif = await sharp([red, blue], { join: { animated: true } }).gif().toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const decoded = await decodeImage(gif, 32);
    expect(decoded.original).toEqual({ width: 48, height: 48, format: 'gif' });
    expect(everyPixel(decoded.pixels, (rgb) => rgb[0] > 240 && rgb[1] < 15 && rgb[2] < 15)).toBe(true);
  });

  it('applies the EXIF orientation', async () => {
    // 80x40, left half red. Orientation 6 = displayed turned 90 degrees clockwise: red on top.
    const wide = rgbPixels(80, 40, (x) => (x < 40 ? [255, 0, 0] : [255, 255, 255]));
    const jpeg = await sharp(wide, { raw: { width: 80, height: 40, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const decoded = await decodeImage(jpeg, 40);
    expect(decoded.original).toEqual({ width: 40, height: 80, format: 'jpeg' });
    // The centre crop of the 40x80 upright image: top half red, bottom half white, both columns alike.
    expectColourNear(pixelAt(decoded.pixels, 40, 2, 2), [255, 0, 0], 20);
    expectColourNear(pixelAt(decoded.pixels, 40, 37, 2), [255, 0, 0], 20);
    expectColourNear(pixelAt(decoded.pixels, 40, 2, 37), [255, 255, 255], 20);
    expectColourNear(pixelAt(decoded.pixels, 40, 37, 37), [255, 255, 255], 20);
  });

  it('accepts an image whose shorter side is exactly the minimum', async () => {
    const decoded = await decodeImage(await solidImage(defaultImageLimits.minSide, 100, [9, 9, 9]), 32);
    expect(decoded.original.width).toBe(defaultImageLimits.minSide);
  });
});

describe('decodeImage: refused input', () => {
  it('EMPTY_FILE for zero bytes', async () => {
    await expectImageError(decodeImage(Buffer.alloc(0), 32), 'EMPTY_FILE');
  });

  it('NOT_AN_IMAGE for random bytes', async () => {
    await expectImageError(decodeImage(Buffer.from(noisePixels(64, 64, 7)), 32), 'NOT_AN_IMAGE');
  });

  it('NOT_AN_IMAGE for a JPEG header followed by garbage', async () => {
    const jpeg = await noiseImage(64, 64, 3, 'jpeg');
    const polyglot = Buffer.concat([jpeg.subarray(0, 20), Buffer.from('<?php echo "not a picture"; ?>'.repeat(50))]);
    await expectImageError(decodeImage(polyglot, 32), 'NOT_AN_IMAGE');
  });

  it.each(['jpeg', 'png'] as const)('TRUNCATED_IMAGE for the first half of a %s', async (format) => {
    const whole = await noiseImage(128, 128, 11, format);
    await expect(decodeImage(whole, 32)).resolves.toBeDefined();
    await expectImageError(decodeImage(whole.subarray(0, whole.length >> 1), 32), 'TRUNCATED_IMAGE');
  });

  it('UNSUPPORTED_FORMAT for SVG', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>');
    await expectImageError(decodeImage(svg, 32), 'UNSUPPORTED_FORMAT');
  });

  it('refuses an SVG by its header without rendering it', async () => {
    // sharp can render SVG; a refused format must cost no rendering, not even one already under way.
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="4000"><defs><filter id="b"><feGaussianBlur stdDeviation="40"/></filter></defs><rect width="4000" height="4000" fill="red" filter="url(#b)"/></svg>',
    );
    await expectImageError(decodeImage(svg, 32), 'UNSUPPORTED_FORMAT');
    expect(sharp.counters()).toEqual({ queue: 0, process: 0 });
  });

  it('UNSUPPORTED_FORMAT for AVIF/HEIF', async () => {
    const avif = await sharp(gradientPixels(64, 64), { raw: { width: 64, height: 64, channels: 3 } }).avif().toBuffer();
    await expectImageError(decodeImage(avif, 32), 'UNSUPPORTED_FORMAT');
  });

  it('UNSUPPORTED_FORMAT for PDF and BMP', async () => {
    await expectImageError(decodeImage(Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'), 32), 'UNSUPPORTED_FORMAT');
    // A 64x64 24-bit BMP: 14-byte file header, 40-byte info header, bottom-up rows.
    const bmp = Buffer.alloc(54 + 64 * 64 * 3);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(bmp.length, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(64, 18);
    bmp.writeInt32LE(64, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    await expectImageError(decodeImage(bmp, 32), 'UNSUPPORTED_FORMAT');
  });

  it('IMAGE_TOO_LARGE for a PNG declaring 100000 x 100000, without decoding it', async () => {
    const bomb = pngDeclaringSize(100_000, 100_000);
    expect(bomb.length).toBeLessThan(200);
    const started = performance.now();
    const error = await expectImageError(decodeImage(bomb, 32), 'IMAGE_TOO_LARGE');
    expect(error.message).toContain('100000x100000');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('IMAGE_TOO_LARGE honours a custom pixel limit', async () => {
    const image = await solidImage(100, 100, [1, 2, 3]);
    await expectImageError(decodeImage(image, 32, { maxPixels: 9_999 }), 'IMAGE_TOO_LARGE');
    await expect(decodeImage(image, 32, { maxPixels: 10_000 })).resolves.toBeDefined();
  });

  it('IMAGE_TOO_SMALL for a 10x10 image and for one short side', async () => {
    await expectImageError(decodeImage(await solidImage(10, 10, [5, 5, 5]), 32), 'IMAGE_TOO_SMALL');
    await expectImageError(decodeImage(await solidImage(300, 31, [5, 5, 5]), 32), 'IMAGE_TOO_SMALL');
    await expect(decodeImage(await solidImage(10, 10, [5, 5, 5]), 32, { minSide: 8 })).resolves.toBeDefined();
  });
});

describe('pixelsToTensor and preprocess', () => {
  it('stacks images into one [n, size, size, 3] float32 tensor of bytes / 255', () => {
    const a = noisePixels(8, 8, 1);
    const b = noisePixels(8, 8, 2);
    const tensor = pixelsToTensor([a, b], 8);
    try {
      expect(tensor.shape).toEqual([2, 8, 8, 3]);
      expect(tensor.dtype).toBe('float32');
      const values = tensor.dataSync();
      const expected = [...a, ...b].map((v) => v / 255);
      expect(values.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) expect(values[i]).toBeCloseTo(expected[i], 6);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...values)).toBeLessThanOrEqual(1);
    } finally {
      tensor.dispose();
    }
  });

  it('rejects an image of the wrong length, before allocating anything', () => {
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    expect(() => pixelsToTensor([noisePixels(8, 8, 1), new Uint8Array(10)], 8)).toThrow(RangeError);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(buffers);
  });

  it('makes the same tensor on WASM (scaled straight into its heap) as on the cpu backend', async () => {
    const images = [noisePixels(8, 8, 3), noisePixels(8, 8, 4), noisePixels(8, 8, 5)];
    const valuesOn = async (backend: string) => {
      await tf.setBackend(backend);
      const tensor = pixelsToTensor(images, 8);
      const values = Array.from(tensor.dataSync());
      tensor.dispose();
      return values;
    };
    const initial = tf.getBackend();
    try {
      const onWasm = await valuesOn('wasm');
      expect(onWasm).toEqual(await valuesOn('cpu'));
      expect(onWasm.length).toBe(3 * 8 * 8 * 3);
    } finally {
      await tf.setBackend(initial);
    }
  });

  it('returns [1, size, size, 3] in [0, 1] and leaks no tensors over repeated calls', async () => {
    const image = await noiseImage(120, 90, 5, 'jpeg');
    const first = await preprocess(image, 40);
    expect(first.tensor.shape).toEqual([1, 40, 40, 3]);
    expect(first.original).toEqual({ width: 120, height: 90, format: 'jpeg' });
    const values = first.tensor.dataSync();
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    first.tensor.dispose();

    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) (await preprocess(image, 40)).tensor.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.skipIf(!hasDataset)('real dermoscopic images', () => {
  it('decode to identical pixels every time, fast enough to serve', async () => {
    const dir = path.join(datasetDir, 'train', 'malignant');
    const names = fs.readdirSync(dir).filter((n) => n.endsWith('.jpg')).sort().slice(0, 60);
    const files = names.map((n) => fs.readFileSync(path.join(dir, n)));
    const first = await decodeImage(files[0], 96);
    const again = await decodeImage(files[0], 96);
    expect(Buffer.from(again.pixels).equals(Buffer.from(first.pixels))).toBe(true);
    expect(first.original).toEqual({ width: 224, height: 224, format: 'jpeg' });

    const started = performance.now();
    for (const bytes of files) await decodeImage(bytes, 96);
    const msPerImage = (performance.now() - started) / files.length;
    console.log(`decodeImage 224px JPEG -> 96px: ${msPerImage.toFixed(2)} ms/image (sequential, ${files.length} images)`);
    expect(msPerImage).toBeLessThan(100);
  });
});

if (!hasDataset) console.warn(`skipping real-image checks: ${datasetDir} is absent`);
