// An image on its way into the dataset: checked with the same decoder training uses, then
// re-encoded so the stored file carries no metadata (EXIF, GPS, camera) and its orientation is
// baked in, and named by the sha256 of the stored bytes.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { ImageError } from '../ml/image-error.js';
import { decodeImage, defaultImageLimits, type ImageLimits, type OriginalImage } from '../ml/decode.js';
import { HASH_SOURCE_SIZE, perceptualHash } from './perceptual-hash.js';

export interface PreparedImage {
  /** The bytes to store. */
  bytes: Buffer;
  /** sha256 (hex) of `bytes`: the stored file is `<contentHash>.<extension>`. */
  contentHash: string;
  /** sha256 of the bytes as received, to recognise a file already in the dataset unchanged. */
  originalHash: string;
  extension: 'jpg' | 'png';
  /** What was received (after EXIF orientation). */
  original: OriginalImage;
  /** 64-bit perceptual hash of the picture, 16 hex digits. */
  perceptualHash: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Width, height, format and perceptual hash of an image file; ImageError when it is unusable. */
export async function describeImage(bytes: Buffer, limits?: Partial<ImageLimits>): Promise<{ original: OriginalImage; perceptualHash: string }> {
  const decoded = await decodeImage(bytes, HASH_SOURCE_SIZE, limits);
  return { original: decoded.original, perceptualHash: perceptualHash(decoded.pixels) };
}

/**
 * Validates and re-encodes one image. JPEG stays JPEG (quality 95, no chroma subsampling, so a
 * second lossy pass changes little); every other format becomes lossless PNG (first frame only).
 * Throws ImageError for anything training could not read.
 */
export async function prepareImage(bytes: Buffer, limits?: Partial<ImageLimits>): Promise<PreparedImage> {
  const { original, perceptualHash } = await describeImage(bytes, limits);
  const maxPixels = limits?.maxPixels ?? defaultImageLimits.maxPixels;
  let encoded: Buffer;
  try {
    const image = sharp(bytes, { failOn: 'truncated', limitInputPixels: maxPixels, pages: 1 }).autoOrient();
    encoded = original.format === 'jpeg' ? await image.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer() : await image.png().toBuffer();
  } catch (error) {
    throw new ImageError('TRUNCATED_IMAGE', `the image could not be re-encoded (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`, { cause: error });
  }
  return {
    bytes: encoded,
    contentHash: sha256Hex(encoded),
    originalHash: sha256Hex(bytes),
    extension: original.format === 'jpeg' ? 'jpg' : 'png',
    original,
    perceptualHash,
  };
}
