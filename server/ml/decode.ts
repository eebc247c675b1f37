// Bytes of an image file -> square RGB pixels (sharp only, no tensors). Training and serving both
// go through `decodeImage`, so a model never sees pixels prepared differently from what it learned on.
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { ImageError } from './image-error.js';

// libvips' operation cache keeps results keyed by their inputs, and every upload is a new buffer:
// it only costs here (decoding 224x224 JPEGs eight at a time: 2.3-3.0 ms of CPU per image
// without it, 3.1-3.4 with it). Process-wide, so sharp's other users here go without it too.
sharp.cache(false);

export interface ImageLimits {
  /** Largest accepted width x height (decompression bombs declare huge sizes in a tiny file). */
  maxPixels: number;
  /** Smallest accepted side: below it there is no lesion detail left to judge. */
  minSide: number;
}

export const defaultImageLimits: ImageLimits = { maxPixels: 50_000_000, minSide: 32 };

export const acceptedFormats = ['jpeg', 'png', 'webp', 'tiff', 'gif'] as const;
export type AcceptedFormat = (typeof acceptedFormats)[number];

export interface OriginalImage {
  /** As displayed, i.e. after the EXIF orientation is applied. */
  width: number;
  height: number;
  format: AcceptedFormat;
}

export interface DecodedImage {
  /** size * size * 3 bytes, RGB, row-major (height, width, channel). */
  pixels: Uint8Array;
  size: number;
  original: OriginalImage;
}

// Transparent areas carry no skin. White cannot be mistaken for pigment, whereas black or grey
// would look like a dark lesion or a dermoscope's vignette and push scores towards "malignant".
// It is also what image viewers show, so the model sees what the user saw.
const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 };

// Formats sharp cannot decode here, recognised by signature so the user hears "unsupported"
// rather than "not an image".
const UNDECODABLE_SIGNATURES: { name: string; test: (b: Buffer) => boolean }[] = [
  { name: 'pdf', test: (b) => b.subarray(0, 5).toString('latin1') === '%PDF-' },
  // 'BM' alone is too weak a signature; the DIB header size must be one of the known ones too.
  { name: 'bmp', test: (b) => b.length >= 18 && b.subarray(0, 2).toString('latin1') === 'BM' && [12, 40, 52, 56, 64, 108, 124].includes(b.readUInt32LE(14)) },
  { name: 'psd', test: (b) => b.subarray(0, 4).toString('latin1') === '8BPS' },
  { name: 'ico', test: (b) => b.length >= 6 && b.readUInt32BE(0) === 0x00000100 && b.readUInt16LE(4) > 0 },
  { name: 'heif', test: (b) => b.subarray(4, 8).toString('latin1') === 'ftyp' },
  { name: 'svg', test: (b) => /^\s*(<\?xml|<svg|<!DOCTYPE svg)/i.test(b.subarray(0, 256).toString('latin1')) },
];

// Leading bytes of the accepted formats. Only a file that starts like one is decoded while its
// header is still being read: sharp here also renders SVG and HEIF, which the header refuses,
// and a refused file should cost no rendering.
const ACCEPTED_SIGNATURES: ((b: Buffer) => boolean)[] = [
  (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff, // JPEG
  (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), // PNG
  (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  (b) => ['II*\0', 'MM\0*'].includes(b.subarray(0, 4).toString('latin1')), // TIFF
  (b) => b.subarray(0, 4).toString('latin1') === 'GIF8',
];

function resolveLimits(limits: Partial<ImageLimits> | undefined): ImageLimits {
  const resolved = { ...defaultImageLimits, ...limits };
  if (!(resolved.maxPixels > 0) || !(resolved.minSide >= 1)) {
    throw new RangeError(`invalid image limits ${JSON.stringify(resolved)}`);
  }
  return resolved;
}

function isAccepted(format: string): format is AcceptedFormat {
  return (acceptedFormats as readonly string[]).includes(format);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

/** Reads only the header: format and declared size, before any pixel is decoded. */
async function readHeader(input: Buffer): Promise<Metadata> {
  try {
    // No pixel limit here: the declared size is what we want to see, and compare ourselves.
    return await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    const signature = UNDECODABLE_SIGNATURES.find((s) => s.test(input));
    if (signature) {
      throw new ImageError('UNSUPPORTED_FORMAT', `${signature.name} files are not accepted; use ${acceptedFormats.join(', ')}`, { cause: error });
    }
    throw new ImageError('NOT_AN_IMAGE', `the file is not a readable image (${messageOf(error)})`, { cause: error });
  }
}

function checkHeader(header: Metadata, limits: ImageLimits): OriginalImage {
  const format = String(header.format);
  if (!isAccepted(format)) {
    throw new ImageError('UNSUPPORTED_FORMAT', `${format} images are not accepted; use ${acceptedFormats.join(', ')}`);
  }
  const width = header.autoOrient?.width ?? header.width;
  const height = header.autoOrient?.height ?? header.height;
  if (!width || !height) throw new ImageError('NOT_AN_IMAGE', `the ${format} header declares no image size`);
  if (width * height > limits.maxPixels) {
    throw new ImageError('IMAGE_TOO_LARGE', `${width}x${height} is over the limit of ${limits.maxPixels} pixels`);
  }
  if (Math.min(width, height) < limits.minSide) {
    throw new ImageError('IMAGE_TOO_SMALL', `${width}x${height} is under the minimum side of ${limits.minSide} pixels`);
  }
  return { width, height, format };
}

/** The pipeline's pixels; its errors assume the header was valid. */
async function decodePixels(input: Buffer, size: number, limits: ImageLimits): Promise<{ data: Buffer; info: OutputInfo }> {
  try {
    return await sharp(input, {
      // Rejects truncated data instead of silently filling the missing rows with grey.
      failOn: 'truncated',
      // Checked against the declared size before any pixel is decoded: a decompression bomb
      // costs nothing even though decoding starts before our own look at the header ends.
      limitInputPixels: limits.maxPixels,
      sequentialRead: true,
      // Animated GIF/WebP and multi-page TIFF: the first frame only.
      pages: 1,
    })
      .autoOrient()
      .flatten({ background: ALPHA_BACKGROUND })
      .toColourspace('srgb')
      // 'cover' keeps the aspect ratio and crops the edges: dermoscopy centres the lesion, and
      // squashing ('fill') would distort its shape, whose asymmetry and border are diagnostic.
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    const message = messageOf(error);
    if (/pixel limit/i.test(message)) throw new ImageError('IMAGE_TOO_LARGE', message, { cause: error });
    // The header was valid, so the pixel data ends early or is damaged.
    throw new ImageError('TRUNCATED_IMAGE', `the image data is incomplete or damaged (${message})`, { cause: error });
  }
}

/**
 * Decodes any accepted image into `size` x `size` 8-bit sRGB pixels.
 * Throws `ImageError` for every input it refuses; never returns partially decoded pixels.
 */
export async function decodeImage(input: Buffer, size: number, limits?: Partial<ImageLimits>): Promise<DecodedImage> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`image size must be a positive integer, got ${size}`);
  const resolved = resolveLimits(limits);
  if (input.length === 0) throw new ImageError('EMPTY_FILE', 'the file is empty');
  // The header and the pixels of an accepted format are read side by side (two pool threads; an
  // image is answered ~0.2 ms sooner than reading one after the other). The header's verdict comes
  // first: when it refuses the file, the decode's own failure or result is dropped.
  const header = readHeader(input);
  const early = ACCEPTED_SIGNATURES.some((test) => test(input)) ? decodePixels(input, size, resolved) : null;
  // The decode may fail while the header is still being read: handled from the start, so its
  // failure is never an unhandled rejection (awaiting it below still throws it).
  early?.catch(() => undefined);
  const original = checkHeader(await header, resolved);
  const { data, info } = await (early ?? decodePixels(input, size, resolved));
  if (info.width !== size || info.height !== size || info.channels !== 3 || data.length !== size * size * 3) {
    throw new ImageError('NOT_AN_IMAGE', `decoding produced ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  // A plain Uint8Array that owns its memory: a view into a shared pool would hand callers
  // (and anything they transfer to a worker) bytes that are not theirs.
  const ownsMemory = data.byteOffset === 0 && data.buffer.byteLength === data.length;
  const pixels = ownsMemory ? new Uint8Array(data.buffer) : new Uint8Array(data);
  return { pixels, size, original };
}

