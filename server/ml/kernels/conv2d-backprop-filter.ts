// Gradient of a 2-D convolution with respect to its filter, which the WASM backend lacks.
//
// dW[(i,j,c), o] = sum over n = (b,y,x) of patch[(i,j,c), n] * dy[n, o], where patch holds the
// input pixel each filter tap saw. That is one matrix product per chunk of output rows: the
// patches are written straight onto the WASM heap, XNNPACK multiplies them by the matching rows
// of dy, and the partial products are summed in doubles. Chunking keeps the patch matrix small
// enough for the cache and bounds the memory it takes.
//
// With stride 1 (every convolution of the shipped networks) each patch row is one contiguous
// slice of a channel-major, zero-padded copy of x, so it is filled by a block copy instead of a
// gather loop (see unitStrideGradient): 10-15 % less time in this kernel (about 3 % of a 96 px
// training step of the original CNN), at the price of some columns where dy is zero.
//
// A 3x3 'same' convolution over multiples of 4 channels takes Winograd's way instead
// (winograd.ts): 2.25x fewer multiplications; one over an RGB input, a SIMD kernel of its own.
//
// (Measured against the alternative of one XNNPACK Conv2D with x as [Cin,H,W,B] and dy as a
// stride-dilated [Ho,Wo,B,Cout] filter: equal on 32- and 64-channel layers, about 1.5x faster on
// an RGB input layer, where XNNPACK re-packs the image-sized "filter" on every call.)
import { tf } from '../tf.js';
import { asShape4, heapView, input, isSame3x3, padWithZeros, release, runStock, transpose, type KernelArgs, type TensorInfo, type WasmBackend } from './wasm-kernel-utils.js';
import { winogradApplies, winogradFilterGradient } from './winograd.js';
import { heapOffset, simdKernels } from './simd/simd-kernels.js';

export const kernelName = 'Conv2DBackpropFilter';

/** Columns (output pixels) per partial product: large enough to keep XNNPACK busy... */
const targetColumns = 4096;
/** ...but the patch matrix of one chunk stays under 16 MB. */
const maxPatchElements = 4 * 1024 * 1024;

interface Geometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

export function conv2dBackpropFilter(args: KernelArgs): TensorInfo {
  const { backend, attrs } = args;
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  const filterShape = asShape4(attrs.filterShape as number[]);
  const dataFormat = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC');
  if (dataFormat !== 'channelsLast') throw new Error(`WASM ${kernelName} supports only NHWC data`);
  const info = tf.backend_util.computeConv2DInfo(
    asShape4(x.shape),
    filterShape,
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number | tf.backend_util.ExplicitPadding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const [batch, outHeight, outWidth, outChannels] = dy.shape;
  const geometry: Geometry = {
    batch,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight,
    outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };

  if (winogradApplies(info, x, dy)) {
    const gradient = winogradFilterGradient(backend, x, dy);
    if (gradient) return gradient;
  }
  if (isRgbSameConv(info, x, dy)) {
    const gradient = rgbFilterGradient(backend, x, dy);
    if (gradient) return gradient;
  }
  if (info.strideHeight === 1 && info.strideWidth === 1) {
    return unitStrideGradient(backend, x, dy, filterShape, geometry, { bottom: info.padInfo.bottom, right: info.padInfo.right });
  }
  const patchRows = info.filterHeight * info.filterWidth * info.inChannels;
  const totalRows = batch * outHeight; // output rows (b, y): a chunk is a run of them
  const rowsPerChunk = Math.max(1, Math.floor(Math.min(targetColumns, maxPatchElements / patchRows) / outWidth));
  const sums = new Float64Array(patchRows * outChannels);

  for (let firstRow = 0; firstRow < totalRows; firstRow += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, totalRows - firstRow);
    const columns = rows * outWidth;
    const patches = backend.makeOutput([patchRows, columns], 'float32');
    const dyRows = backend.makeOutput([columns, outChannels], 'float32');
    // Views only after the last allocation: allocating can grow (and move) the heap.
    writePatches(heapView(backend, x), heapView(backend, patches), geometry, firstRow, rows);
    const dyStart = firstRow * outWidth * outChannels;
    heapView(backend, dyRows).set(heapView(backend, dy).subarray(dyStart, dyStart + columns * outChannels));

    addProduct(backend, patches, dyRows, sums);
  }
  return gradientFrom(backend, sums, filterShape);
}

/** A network's first layer: a 3x3 'same' convolution of 3 input channels, out % 4 == 0. */
function isRgbSameConv(info: tf.backend_util.Conv2DInfo, x: TensorInfo, dy: TensorInfo): boolean {
  return x.dtype === 'float32' && dy.dtype === 'float32' && info.inChannels === 3 && info.outChannels % 4 === 0 && isSame3x3(info);
}

/**
 * The first layer's gradient by a SIMD kernel (simd/kernels.wat): with 3 input channels the
 * patch matrix has 27 rows, a shape XNNPACK's matrix product handles at ~10 GFLOP/s.
 */
function rgbFilterGradient(backend: WasmBackend, x: TensorInfo, dy: TensorInfo): TensorInfo | undefined {
  const simd = simdKernels(backend);
  if (!simd) return undefined;
  const [batch, height, width] = x.shape as [number, number, number, number];
  const outChannels = dy.shape[3]!;
  const padded = backend.makeOutput([batch, height + 2, width + 2, 3], 'float32');
  const scratch = backend.makeOutput([27 * outChannels * 2], 'float32'); // 27 x out doubles
  const gradient = backend.makeOutput([3, 3, 3, outChannels], 'float32');
  try {
    padWithZeros(heapView(backend, x), heapView(backend, padded), batch, height, width, 3);
    simd.rgbFilterGradient(heapOffset(backend, padded), heapOffset(backend, dy), heapOffset(backend, scratch), heapOffset(backend, gradient), batch, height, width, outChannels);
    return gradient;
  } finally {
    release(backend, padded, scratch);
  }
}

/** sums += patches · dyRows (by XNNPACK); frees both operands. */
function addProduct(backend: WasmBackend, patches: TensorInfo, dyRows: TensorInfo, sums: Float64Array): void {
  const partial = runStock('BatchMatMul', backend, { a: patches, b: dyRows }, { transposeA: false, transposeB: false });
  const values = heapView(backend, partial);
  for (let i = 0; i < sums.length; i++) sums[i] += values[i];
  release(backend, patches, dyRows, partial);
}

function gradientFrom(backend: WasmBackend, sums: Float64Array, filterShape: [number, number, number, number]): TensorInfo {
  const grad = backend.makeOutput(filterShape, 'float32');
  heapView(backend, grad).set(sums);
  return grad;
}

/**
 * Stride 1. Lay x out channel-major on its zero-padded grid (Hp x Wp per image, images one
 * after another): the input under tap (i, j) of the output at grid position p = (b*Hp + y)*Wp + x
 * is then at p + i*Wp + j, so for a run of grid positions the patch row (i, j, c) is a single
 * slice. Positions that are no output (x >= Wo or y >= Ho) get dy = 0 and add nothing.
 */
function unitStrideGradient(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
  g: Geometry,
  pad: { bottom: number; right: number },
): TensorInfo {
  const { batch, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, padTop, padLeft } = g;
  const outChannels = filterShape[3];
  const gridHeight = inHeight + padTop + pad.bottom;
  const gridWidth = inWidth + padLeft + pad.right;
  const gridRows = batch * gridHeight;
  // Taps of the last grid positions read up to filterHeight rows past the last image (times dy = 0).
  const plane = (gridRows + filterHeight) * gridWidth;
  const padded = paddedChannelMajor(backend, x, g, { gridHeight, gridWidth, plane });

  const patchRows = filterHeight * filterWidth * inChannels;
  const rowsPerChunk = Math.max(1, Math.floor(Math.min(targetColumns, maxPatchElements / patchRows) / gridWidth));
  const sums = new Float64Array(patchRows * outChannels);
  try {
    for (let firstRow = 0; firstRow < gridRows; firstRow += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, gridRows - firstRow);
      const columns = rows * gridWidth;
      const patches = backend.makeOutput([patchRows, columns], 'float32');
      const dyRows = backend.makeOutput([columns, outChannels], 'float32');
      // Views only after the last allocation: allocating can grow (and move) the heap.
      const grid = heapView(backend, padded);
      const patchValues = heapView(backend, patches);
      let row = 0;
      for (let i = 0; i < filterHeight; i++) {
        for (let j = 0; j < filterWidth; j++) {
          for (let c = 0; c < inChannels; c++) {
            const from = c * plane + firstRow * gridWidth + i * gridWidth + j;
            patchValues.set(grid.subarray(from, from + columns), row++ * columns);
          }
        }
      }
      const dyValues = heapView(backend, dy);
      const dyRowValues = heapView(backend, dyRows);
      dyRowValues.fill(0);
      const rowLength = outWidth * outChannels;
      for (let r = 0; r < rows; r++) {
        const b = Math.floor((firstRow + r) / gridHeight);
        const y = firstRow + r - b * gridHeight;
        if (y >= outHeight) continue;
        const from = (b * outHeight + y) * rowLength;
        dyRowValues.set(dyValues.subarray(from, from + rowLength), r * gridWidth * outChannels);
      }
      addProduct(backend, patches, dyRows, sums);
    }
  } finally {
    release(backend, padded);
  }
  return gradientFrom(backend, sums, filterShape);
}

/** x as [channel][padded grid position], zeros around each image and after the last. */
function paddedChannelMajor(backend: WasmBackend, x: TensorInfo, g: Geometry, grid: { gridHeight: number; gridWidth: number; plane: number }): TensorInfo {
  const { batch, inHeight, inWidth, inChannels, padTop, padLeft } = g;
  const channelMajor = transpose(backend, x, [3, 0, 1, 2]);
  const padded = backend.makeOutput([inChannels, grid.plane], 'float32');
  const from = heapView(backend, channelMajor);
  const to = heapView(backend, padded);
  to.fill(0);
  for (let c = 0; c < inChannels; c++) {
    for (let b = 0; b < batch; b++) {
      for (let y = 0; y < inHeight; y++) {
        const source = ((c * batch + b) * inHeight + y) * inWidth;
        to.set(from.subarray(source, source + inWidth), c * grid.plane + (b * grid.gridHeight + y + padTop) * grid.gridWidth + padLeft);
      }
    }
  }
  release(backend, channelMajor);
  return padded;
}

/**
 * patches[(i,j,c), n] = x[b, y*strideH + i - padTop, x*strideW + j - padLeft, c] (0 outside the
 * image) for the output pixels n of output rows firstRow .. firstRow+rows-1.
 */
function writePatches(xs: Float32Array, patches: Float32Array, g: Geometry, firstRow: number, rows: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padTop, padLeft } = g;
  const step = strideWidth * inChannels;
  let at = 0;
  for (let i = 0; i < filterHeight; i++) {
    for (let j = 0; j < filterWidth; j++) {
      // Output columns whose tap (.., j) lands inside the image.
      const firstInside = Math.min(outWidth, Math.max(0, Math.ceil((padLeft - j) / strideWidth)));
      const endInside = Math.max(firstInside, Math.min(outWidth, Math.floor((inWidth - 1 + padLeft - j) / strideWidth) + 1));
      for (let c = 0; c < inChannels; c++) {
        let b = Math.floor(firstRow / outHeight);
        let y = firstRow % outHeight;
        for (let r = 0; r < rows; r++) {
          const inRow = y * strideHeight + i - padTop;
          if (inRow < 0 || inRow >= inHeight) {
            patches.fill(0, at, at + outWidth);
            at += outWidth;
          } else {
            let ox = 0;
            for (; ox < firstInside; ox++) patches[at++] = 0;
            let from = ((b * inHeight + inRow) * inWidth + firstInside * strideWidth + j - padLeft) * inChannels + c;
            for (; ox < endInside; ox++, from += step) patches[at++] = xs[from];
            for (; ox < outWidth; ox++) patches[at++] = 0;
          }
          if (++y === outHeight) {
            y = 0;
            b++;
          }
        }
      }
    }
  }
}
