// Gradient of a 2-D convolution with respect to its filter, which the WASM backend lacks.
//
// dW[(i,j,c), o] = sum over n = (b,y,x) of patch[(i,j,c), n] * dy[n, o], where patch holds the
// input pixel each filter tap saw. That is one matrix product per chunk of output rows: the
// patches are written by a JS loop straight onto the WASM heap, XNNPACK multiplies them by the
// matching rows of dy, and the partial products are summed in doubles. Chunking keeps the
// patch matrix small enough for the cache and bounds the memory it takes.
//
// (Measured against the alternative of one XNNPACK Conv2D with x as [Cin,H,W,B] and dy as a
// stride-dilated [Ho,Wo,B,Cout] filter: equal on 32- and 64-channel layers, about 1.5x faster on
// an RGB input layer, where XNNPACK re-packs the image-sized "filter" on every call.)
import { tf } from '../tf.js';
import { asShape4, heapView, input, release, runStock, type KernelArgs, type TensorInfo } from './wasm-kernel-utils.js';

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

    const partial = runStock('BatchMatMul', backend, { a: patches, b: dyRows }, { transposeA: false, transposeB: false });
    const values = heapView(backend, partial);
    for (let i = 0; i < sums.length; i++) sums[i] += values[i];
    release(backend, patches, dyRows, partial);
  }

  const grad = backend.makeOutput(filterShape, 'float32');
  heapView(backend, grad).set(sums);
  return grad;
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
