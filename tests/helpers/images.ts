// Synthetic image fixtures made with sharp at test time: plain images in every accepted format,
// hand-built malformed files, and a small two-class lesion-like dataset in ImageFolder layout.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { createRng, type Rng } from '../../server/ml/random.js';

export type FixtureFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif';
export type Rgb = readonly [number, number, number];

/** Raw pixels of any channel count encoded in `format` (lossless unless jpeg/webp). */
export async function encodeRaw(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  format: FixtureFormat = 'png',
): Promise<Buffer> {
  let image = sharp(pixels, { raw: { width, height, channels } });
  // sharp converts output to sRGB unless told otherwise; keep single-channel input greyscale.
  if (channels === 1) image = image.toColourspace('b-w');
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: 95 }).toBuffer();
    case 'png':
      return image.png().toBuffer();
    case 'webp':
      return image.webp({ lossless: true }).toBuffer();
    case 'tiff':
      return image.tiff({ compression: 'lzw' }).toBuffer();
    case 'gif':
      return image.gif().toBuffer();
  }
}

/** width * height * 3 RGB bytes where pixel (x, y) has colour `colourAt(x, y)`. */
export function rgbPixels(width: number, height: number, colourAt: (x: number, y: number) => Rgb): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) pixels.set(colourAt(x, y), (y * width + x) * 3);
  }
  return pixels;
}

export function solidImage(width: number, height: number, colour: Rgb, format: FixtureFormat = 'png'): Promise<Buffer> {
  return encodeRaw(rgbPixels(width, height, () => colour), width, height, 3, format);
}

/** Red grows left to right, green top to bottom, blue constant: every position looks different. */
export function gradientPixels(width: number, height: number): Uint8Array {
  return rgbPixels(width, height, (x, y) => [
    Math.round((255 * x) / Math.max(1, width - 1)),
    Math.round((255 * y) / Math.max(1, height - 1)),
    128,
  ]);
}

export function gradientImage(width: number, height: number, format: FixtureFormat = 'png'): Promise<Buffer> {
  return encodeRaw(gradientPixels(width, height), width, height, 3, format);
}

export function noisePixels(width: number, height: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: width * height * 3 }, () => rng.int(256));
}

export function noiseImage(width: number, height: number, seed: number, format: FixtureFormat = 'png'): Promise<Buffer> {
  return encodeRaw(noisePixels(width, height, seed), width, height, 3, format);
}

// --- hand-built PNG chunks, for headers no encoder would write ------------------------------

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid-looking 8-bit RGB PNG that declares `width` x `height` but holds only a few bytes of
 * pixel data: a decompression bomb's header, with correct CRCs so only the size is wrong.
 */
export function pngDeclaringSize(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

// --- a toy lesion dataset --------------------------------------------------------------------

export const TOY_CLASSES = ['benign', 'malignant'] as const;
export type ToyClass = (typeof TOY_CLASSES)[number];

const clampByte = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/**
 * A lesion-like picture: light skin with a small round brown spot (benign) or a large,
 * irregular, very dark and mottled blob (malignant). The classes differ in dark area by ~8x,
 * which a small CNN separates within a few epochs even at 32 px.
 */
export function toyLesionPixels(size: number, kind: ToyClass, rng: Rng): Uint8Array {
  const skin: Rgb = [rng.uniform(200, 230), rng.uniform(155, 185), rng.uniform(125, 155)];
  const cx = size / 2 + rng.uniform(-0.08, 0.08) * size;
  const cy = size / 2 + rng.uniform(-0.08, 0.08) * size;
  const malignant = kind === 'malignant';
  const baseRadius = (malignant ? rng.uniform(0.28, 0.36) : rng.uniform(0.08, 0.13)) * size;
  const phase1 = rng.uniform(0, 2 * Math.PI);
  const phase2 = rng.uniform(0, 2 * Math.PI);
  const spot: Rgb = malignant ? [55, 30, 40] : [150, 100, 75];

  return rgbPixels(size, size, (x, y) => {
    const dx = x + 0.5 - cx;
    const dy = y + 0.5 - cy;
    const angle = Math.atan2(dy, dx);
    // Benign borders are smooth circles; malignant ones wobble with the angle.
    const radius = malignant ? baseRadius * (1 + 0.25 * Math.sin(3 * angle + phase1) + 0.15 * Math.sin(5 * angle + phase2)) : baseRadius;
    const inside = Math.hypot(dx, dy) <= radius;
    const noise = rng.uniform(-8, 8);
    if (!inside) return [clampByte(skin[0] + noise), clampByte(skin[1] + noise), clampByte(skin[2] + noise)];
    const mottle = malignant ? rng.uniform(-20, 20) : 0;
    return [clampByte(spot[0] + noise + mottle), clampByte(spot[1] + noise), clampByte(spot[2] + noise + Math.abs(mottle))];
  });
}

export interface ToyDatasetOptions {
  /** Where to create the dataset; a fresh temp dir when omitted. */
  root?: string;
  /** Images per class in each split (default { train: 24, test: 8 }). */
  splits?: Record<string, number>;
  /** Side of the written images (default 64). */
  size?: number;
  seed?: number;
  format?: FixtureFormat;
}

export interface ToyDataset {
  root: string;
  splitDir(split: string): string;
  /** Every written file, sorted by split, class and name. */
  files: { split: string; className: ToyClass; path: string }[];
  /** Removes the whole root directory. */
  cleanup(): Promise<void>;
}

/** Writes <root>/<split>/{benign,malignant}/NNN.<ext> with a seeded, reproducible pattern. */
export async function createToyDataset(options: ToyDatasetOptions = {}): Promise<ToyDataset> {
  const { splits = { train: 24, test: 8 }, size = 64, seed = 1, format = 'jpeg' } = options;
  const root = options.root ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'toy-lesions-')));
  const rng = createRng(seed);
  const extension = format === 'jpeg' ? 'jpg' : format;
  const files: ToyDataset['files'] = [];
  for (const [split, perClass] of Object.entries(splits)) {
    for (const className of TOY_CLASSES) {
      const dir = path.join(root, split, className);
      await fs.mkdir(dir, { recursive: true });
      for (let i = 0; i < perClass; i++) {
        const file = path.join(dir, `${String(i).padStart(3, '0')}.${extension}`);
        await fs.writeFile(file, await encodeRaw(toyLesionPixels(size, className, rng), size, size, 3, format));
        files.push({ split, className, path: file });
      }
    }
  }
  return {
    root,
    splitDir: (split) => path.join(root, split),
    files,
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
}
