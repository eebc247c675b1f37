// Decoded pixels -> model input. Decoding itself lives in decode.ts (re-exported here), so code
// that only decodes does not load tfjs.
import { tf, type Tensor4D } from './tf.js';
import { decodeImage, type ImageLimits, type OriginalImage } from './decode.js';

export { acceptedFormats, decodeImage, defaultImageLimits } from './decode.js';
export type { AcceptedFormat, DecodedImage, ImageLimits, OriginalImage } from './decode.js';

// byte -> [0, 1] once, shared by every conversion so training and serving scale identically.
const UNIT_SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** Writes one image's bytes into `dst` from `offset`, scaled to [0, 1]. */
export function copyInto(src: Uint8Array, dst: Float32Array, offset: number): void {
  if (offset < 0 || offset + src.length > dst.length) {
    throw new RangeError(`copyInto: ${src.length} values at ${offset} do not fit in ${dst.length}`);
  }
  for (let i = 0; i < src.length; i++) dst[offset + i] = UNIT_SCALE[src[i]];
}

/** Scale lookup for callers that transform pixels on the way (augmentation). */
export function unitScale(byte: number): number {
  return UNIT_SCALE[byte];
}

/** Stacks decoded images into one float32 [n, size, size, 3] tensor in [0, 1]. */
export function pixelsToTensor(images: Uint8Array[], size: number): Tensor4D {
  const stride = size * size * 3;
  const values = new Float32Array(images.length * stride);
  images.forEach((pixels, i) => {
    if (pixels.length !== stride) throw new RangeError(`image ${i} has ${pixels.length} values, expected ${stride} for ${size}px`);
    copyInto(pixels, values, i * stride);
  });
  return tf.tensor4d(values, [images.length, size, size, 3], 'float32');
}

/** Decode + tensor for one uploaded image. The caller disposes `tensor`. */
export async function preprocess(
  input: Buffer,
  size: number,
  limits?: Partial<ImageLimits>,
): Promise<{ tensor: Tensor4D; original: OriginalImage }> {
  const decoded = await decodeImage(input, size, limits);
  return { tensor: pixelsToTensor([decoded.pixels], size), original: decoded.original };
}
