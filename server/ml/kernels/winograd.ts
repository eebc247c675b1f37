// 3x3 stride-1 'same' convolutions by Winograd's F(2x2, 3x3): each 2x2 block of outputs costs 16
// multiplications per input/output channel pair instead of 36, so the product part does 2.25x
// less arithmetic than XNNPACK's direct convolution. The transforms and the 16 products per
// call are SIMD kernels (simd/kernels.wat; shapes they do not cover go to WASM's BatchMatMul).
// Used for the forward pass (plain or fused with bias and ReLU), the input gradient and the
// filter gradient of such convolutions; anything else stays with XNNPACK.
import { tf } from '../tf.js';
import { heapView, isSame3x3, padWithZeros, release, runStock, type TensorInfo, type WasmBackend } from './wasm-kernel-utils.js';
import { backendIsThreaded, heapOffset, simdKernels, type SimdKernels } from './simd/simd-kernels.js';

const POSITIONS = 16; // a 4x4 transformed tile

/**
 * Whether a convolution with `info` (of float32 `tensors`) can go this way: a 3x3 'same' one
 * (stride 1, one pixel of padding), even height and width (whole 2x2 blocks), channel counts
 * that are multiples of 4 (whole SIMD vectors).
 */
export function winogradApplies(info: tf.backend_util.Conv2DInfo, ...tensors: TensorInfo[]): boolean {
  return (
    tensors.every((t) => t.dtype === 'float32') &&
    isSame3x3(info) &&
    info.inHeight % 2 === 0 &&
    info.inWidth % 2 === 0 &&
    info.inChannels % 4 === 0 &&
    info.outChannels % 4 === 0
  );
}

export interface WinogradEpilogue {
  /** [out] values added to every output pixel. */
  bias?: TensorInfo;
  relu?: boolean;
}

/** The convolution, or undefined when the SIMD kernels cannot run here (the caller falls back). */
export function winogradConv3x3(backend: WasmBackend, x: TensorInfo, filter: TensorInfo, epilogue: WinogradEpilogue = {}): TensorInfo | undefined {
  const simd = simdKernels(backend);
  if (!simd) return undefined;
  const [batch, height, width, inChannels] = x.shape as [number, number, number, number];
  const outChannels = filter.shape[3]!;
  const tilesY = height / 2;
  const tilesX = width / 2;
  const tiles = tilesY * tilesX;
  // The SIMD products need whole 4x8 blocks; the threaded build multiplies with XNNPACK on all
  // its threads instead, in one call per position over the whole batch.
  if (tiles % 4 !== 0 || outChannels % 8 !== 0 || backendIsThreaded(backend)) return winogradConv3x3Whole(simd, backend, x, filter, epilogue);
  const offsets = imageOffsets(height, width);
  const scratch = new Scratch(backend);
  try {
    const filterPlanes = transformedFilter(scratch, filter);
    const padded = heapOffset(backend, paddedCopy(scratch, x));
    const inputPlanes = scratch.planes(POSITIONS, [1, tiles, inChannels]);
    const products = scratch.planes(POSITIONS, [1, tiles, outChannels]);
    const inputTable = scratch.pointerTable(inputPlanes);
    const productTable = scratch.pointerTable(products);
    const y = backend.makeOutput([batch, height, width, outChannels], 'float32');
    const { bias, relu } = epilogue;
    const [a, b, c] = [inputPlanes, filterPlanes, products].map((planes) => planes.map((plane) => heapOffset(backend, plane)));
    for (let image = 0; image < batch; image++) {
      simd.winogradInput(offsets.padded(padded, image, inChannels), inputTable, 1, tilesY, tilesX, inChannels);
      for (let p = 0; p < POSITIONS; p++) simd.matMul(a![p]!, b![p]!, c![p]!, tiles, inChannels, outChannels, inChannels);
      simd.winogradOutput(productTable, bias ? heapOffset(backend, bias) : 0, offsets.output(heapOffset(backend, y), image, outChannels), 1, tilesY, tilesX, outChannels, bias ? 1 : 0, relu ? 1 : 0);
    }
    return y;
  } finally {
    scratch.release();
  }
}

/** The same over the whole batch at once, its products by WASM's BatchMatMul. */
function winogradConv3x3Whole(simd: SimdKernels, backend: WasmBackend, x: TensorInfo, filter: TensorInfo, { bias, relu }: WinogradEpilogue): TensorInfo {
  const [batch, height, width, inChannels] = x.shape as [number, number, number, number];
  const outChannels = filter.shape[3]!;
  const tiles = { batch, tilesY: height / 2, tilesX: width / 2 };
  const scratch = new Scratch(backend);
  try {
    const filterPlanes = transformedFilter(scratch, filter);
    const inputPlanes = transformInput(simd, scratch, x, tiles);
    const products = inputPlanes.map((plane, p) => scratch.keep(runStock('BatchMatMul', backend, { a: plane, b: filterPlanes[p]! }, { transposeA: false, transposeB: false })));
    const y = backend.makeOutput([batch, height, width, outChannels], 'float32');
    const table = scratch.pointerTable(products);
    simd.winogradOutput(table, bias ? heapOffset(backend, bias) : 0, heapOffset(backend, y), batch, tiles.tilesY, tiles.tilesX, outChannels, bias ? 1 : 0, relu ? 1 : 0);
    return y;
  } finally {
    scratch.release();
  }
}

/**
 * The gradient of the same convolution with respect to its [3, 3, in, out] filter, from its
 * input x and the gradient dy of its output: Gᵀ (Σ over tiles Vᵀ·(A dY Aᵀ)) G, per transformed
 * position. Undefined when the SIMD kernels cannot run here, or an image's tiles or the output
 * channels do not fill the product kernel's 4x8 blocks.
 */
export function winogradFilterGradient(backend: WasmBackend, x: TensorInfo, dy: TensorInfo): TensorInfo | undefined {
  const simd = simdKernels(backend);
  const [batch, height, width, inChannels] = x.shape as [number, number, number, number];
  const outChannels = dy.shape[3]!;
  const tilesY = height / 2;
  const tilesX = width / 2;
  const tiles = tilesY * tilesX;
  if (!simd || tiles % 4 !== 0 || outChannels % 8 !== 0) return undefined;
  const offsets = imageOffsets(height, width);
  const scratch = new Scratch(backend);
  try {
    const inputPlanes = scratch.planes(POSITIONS, [1, tiles, inChannels]);
    const gradientPlanes = scratch.planes(POSITIONS, [1, tiles, outChannels]);
    const products = scratch.planes(POSITIONS, [inChannels, outChannels]);
    const inputTable = scratch.pointerTable(inputPlanes);
    const gradientTable = scratch.pointerTable(gradientPlanes);
    const padded = heapOffset(backend, paddedCopy(scratch, x));
    const gradient = backend.makeOutput([3, 3, inChannels, outChannels], 'float32');
    // dU = Vᵀ·(A dY Aᵀ) summed over tiles, by a kernel that reads both [tiles, channels] planes
    // where they lie: XNNPACK would re-pack one of them on every call, which cost as much as the
    // products themselves (and a transpose before it as much again).
    const depthChunk = productChunk(inChannels, outChannels);
    const [a, b, c] = [inputPlanes, gradientPlanes, products].map((planes) => planes.map((plane) => heapOffset(backend, plane)));
    for (let image = 0; image < batch; image++) {
      simd.winogradInput(offsets.padded(padded, image, inChannels), inputTable, 1, tilesY, tilesX, inChannels);
      simd.winogradOutputGradient(offsets.output(heapOffset(backend, dy), image, outChannels), gradientTable, 1, tilesY, tilesX, outChannels);
      // The first image writes the sums, the others add to them.
      for (let p = 0; p < POSITIONS; p++) simd.matMulTransposedA(a![p]!, b![p]!, c![p]!, tiles, inChannels, outChannels, depthChunk, image > 0 ? 1 : 0);
    }
    // Views only now: allocating can grow the heap, which detaches earlier views.
    untransformFilterGradient(products.map((plane) => heapView(backend, plane)), heapView(backend, gradient), inChannels * outChannels);
    return gradient;
  } finally {
    scratch.release();
  }
}

/** Tiles per pass of matMulTransposedA: the two planes' slices for one pass fit in ~24 KB (L1). */
function productChunk(inChannels: number, outChannels: number): number {
  return Math.max(16, Math.floor(24 * 1024 / (4 * (inChannels + outChannels))));
}

/**
 * Byte offsets of image `image`'s first element in a padded input, and in an output (or output
 * gradient), channels last: the convolutions below go one image at a time, so each image's
 * transformed planes go through the products and back while still in cache (the whole batch's
 * are tens of MB; a batch of 16 at 96 px trains 15 % faster this way). Runs of tile rows
 * smaller than an image measured no faster, at 96 or 128 px.
 */
function imageOffsets(height: number, width: number) {
  return {
    padded: (base: number, image: number, channels: number) => base + 4 * image * (height + 2) * (width + 2) * channels,
    output: (base: number, image: number, channels: number) => base + 4 * image * height * width * channels,
  };
}

/** Intermediates of one call, freed together. */
class Scratch {
  private readonly made: TensorInfo[] = [];
  constructor(readonly backend: WasmBackend) {}

  keep(info: TensorInfo): TensorInfo {
    this.made.push(info);
    return info;
  }

  planes(count: number, shape: number[]): TensorInfo[] {
    return Array.from({ length: count }, () => this.keep(this.backend.makeOutput(shape, 'float32')));
  }

  /** Byte offset of an int32 table holding the planes' byte offsets, for the SIMD kernels. */
  pointerTable(planes: TensorInfo[]): number {
    const table = this.keep(this.backend.makeOutput([planes.length], 'int32'));
    const entries = this.backend.typedArrayFromHeap(table) as Int32Array;
    planes.forEach((plane, p) => (entries[p] = heapOffset(this.backend, plane)));
    return heapOffset(this.backend, table);
  }

  release(): void {
    release(this.backend, ...this.made.splice(0));
  }
}

/** The 16 planes of V = Bᵀ d B over every tile of x (padded by one pixel), each [1, tiles, in]. */
function transformInput(simd: SimdKernels, scratch: Scratch, x: TensorInfo, { batch, tilesY, tilesX }: { batch: number; tilesY: number; tilesX: number }): TensorInfo[] {
  const channels = x.shape[3]!;
  const padded = heapOffset(scratch.backend, paddedCopy(scratch, x));
  const planes = scratch.planes(POSITIONS, [1, batch * tilesY * tilesX, channels]);
  simd.winogradInput(padded, scratch.pointerTable(planes), batch, tilesY, tilesX, channels);
  return planes;
}

/** x with one pixel of zeros around each image, [batch, height + 2, width + 2, channels], in `scratch`. */
function paddedCopy(scratch: Scratch, x: TensorInfo): TensorInfo {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const padded = scratch.keep(scratch.backend.makeOutput([batch, height + 2, width + 2, channels], 'float32'));
  // Views taken right after the allocation: a later one may grow the heap and detach them.
  padWithZeros(heapView(scratch.backend, x), heapView(scratch.backend, padded), batch, height, width, channels);
  return padded;
}

/** The 16 [1, in, out] planes of the transformed [3, 3, in, out] filter, in `scratch`. */
function transformedFilter(scratch: Scratch, filter: TensorInfo): TensorInfo[] {
  const [, , inChannels, outChannels] = filter.shape as [number, number, number, number];
  const planes = scratch.planes(POSITIONS, [1, inChannels, outChannels]);
  transformFilter(heapView(scratch.backend, filter), planes.map((plane) => heapView(scratch.backend, plane)), inChannels, outChannels);
  return planes;
}

/**
 * U = G g Gᵀ for every (in, out) pair of the [3, 3, in, out] filter, G = [[1, 0, 0], [½, ½, ½],
 * [½, -½, ½], [0, 0, 1]]; plane r*4+k of `planes` is U[r][k] as an [in, out] matrix.
 */
function transformFilter(filter: Float32Array, planes: Float32Array[], inChannels: number, outChannels: number): void {
  const tap = inChannels * outChannels; // distance between filter taps (ky, kx)
  const g = new Float64Array(9);
  const rows = new Float64Array(12); // G g: 4 rows of 3
  for (let pair = 0; pair < tap; pair++) {
    for (let t = 0; t < 9; t++) g[t] = filter[t * tap + pair]!;
    for (let column = 0; column < 3; column++) {
      const a = g[column]!;
      const b = g[3 + column]!;
      const c = g[6 + column]!;
      rows[column] = a;
      rows[3 + column] = (a + b + c) / 2;
      rows[6 + column] = (a - b + c) / 2;
      rows[9 + column] = c;
    }
    for (let r = 0; r < 4; r++) {
      const a = rows[3 * r]!;
      const b = rows[3 * r + 1]!;
      const c = rows[3 * r + 2]!;
      planes[4 * r]![pair] = a;
      planes[4 * r + 1]![pair] = (a + b + c) / 2;
      planes[4 * r + 2]![pair] = (a - b + c) / 2;
      planes[4 * r + 3]![pair] = c;
    }
  }
}

/**
 * dW = Gᵀ dU G for every (in, out) pair: the filter gradient from the gradients of its 16
 * transformed positions (`planes`, each dU as [in, out]), written as [3, 3, in, out].
 */
function untransformFilterGradient(planes: Float32Array[], gradient: Float32Array, pairs: number): void {
  const u = new Float64Array(16);
  const columns = new Float64Array(12); // Gᵀ along each row r: 4 rows of 3
  for (let pair = 0; pair < pairs; pair++) {
    for (let p = 0; p < 16; p++) u[p] = planes[p]![pair]!;
    for (let r = 0; r < 4; r++) {
      const [u0, u1, u2, u3] = [u[4 * r]!, u[4 * r + 1]!, u[4 * r + 2]!, u[4 * r + 3]!];
      columns[3 * r] = u0 + (u1 + u2) / 2;
      columns[3 * r + 1] = (u1 - u2) / 2;
      columns[3 * r + 2] = (u1 + u2) / 2 + u3;
    }
    for (let kx = 0; kx < 3; kx++) {
      const [c0, c1, c2, c3] = [columns[kx]!, columns[3 + kx]!, columns[6 + kx]!, columns[9 + kx]!];
      gradient[kx * pairs + pair] = c0 + (c1 + c2) / 2;
      gradient[(3 + kx) * pairs + pair] = (c1 - c2) / 2;
      gradient[(6 + kx) * pairs + pair] = (c1 + c2) / 2 + c3;
    }
  }
}
