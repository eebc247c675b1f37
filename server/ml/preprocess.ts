// Decoded pixels -> model input. Decoding itself lives in decode.ts (re-exported here), so code
// that only decodes does not load tfjs.
import { tf, type Tensor4D } from './tf.js';
import { decodeImage, type ImageLimits, type OriginalImage } from './decode.js';
import { currentWasmBackend, heapView, type WasmBackend } from './kernels/wasm-kernel-utils.js';

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
  images.forEach((pixels, i) => {
    if (pixels.length !== stride) throw new RangeError(`image ${i} has ${pixels.length} values, expected ${stride} for ${size}px`);
  });
  const shape: [number, number, number, number] = [images.length, size, size, 3];
  const wasm = currentWasmBackend();
  if (wasm) return scaledOnWasmHeap(wasm, images, shape);
  const values = new Float32Array(images.length * stride);
  images.forEach((pixels, i) => copyInto(pixels, values, i * stride));
  return tf.tensor4d(values, shape, 'float32');
}

/**
 * On WASM the bytes are scaled straight into the tensor's memory on the backend heap: staging a
 * batch in a fresh Float32Array first (3.5 MB for 32 images at 96 px) costs a copy more and new
 * pages from the kernel on every batch, page faults that two inference workers take at once.
 */
function scaledOnWasmHeap(backend: WasmBackend, images: Uint8Array[], shape: [number, number, number, number]): Tensor4D {
  const info = backend.makeOutput(shape, 'float32');
  const values = heapView(backend, info);
  const stride = shape[1] * shape[2] * shape[3];
  images.forEach((pixels, i) => copyInto(pixels, values, i * stride));
  return tf.engine().makeTensorFromTensorInfo(info) as Tensor4D;
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
