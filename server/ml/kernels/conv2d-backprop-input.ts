// Gradient of a 2-D convolution with respect to its input. WASM's own kernel is a scalar C++
// loop; the same result is a stride-1 'valid' convolution of dy (zero-stuffed by the forward
// stride, padded by filter-1-pad) with the filter rotated 180 degrees and its channel axes
// swapped, which runs on XNNPACK, or by Winograd when it is a 3x3 'same' one (winograd.ts).
import { tf } from '../tf.js';
import {
  asShape4,
  heapView,
  input,
  release,
  runStock,
  transpose,
  type KernelArgs,
  type TensorInfo,
  type WasmBackend,
} from './wasm-kernel-utils.js';
import { winogradApplies, winogradConv3x3 } from './winograd.js';

export const kernelName = 'Conv2DBackpropInput';

export function conv2dBackpropInput(args: KernelArgs, stock: tf.KernelFunc | undefined): TensorInfo {
  const { backend, attrs } = args;
  const dy = input(args, 'dy');
  const filter = input(args, 'filter');
  const dataFormat = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC');
  const info = tf.backend_util.computeConv2DInfo(
    asShape4(attrs.inputShape as number[]),
    asShape4(filter.shape),
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number | tf.backend_util.ExplicitPadding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    dataFormat,
  );
  const { inHeight, inWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const [, outHeight, outWidth] = dy.shape;
  const stuffedHeight = (outHeight - 1) * strideHeight + 1;
  const stuffedWidth = (outWidth - 1) * strideWidth + 1;
  const padTop = filterHeight - 1 - padInfo.top;
  const padLeft = filterWidth - 1 - padInfo.left;
  const padBottom = inHeight + filterHeight - 1 - stuffedHeight - padTop;
  const padRight = inWidth + filterWidth - 1 - stuffedWidth - padLeft;

  // Explicit paddings wider than the filter would need cropping; rare enough to leave to WASM.
  if (dataFormat !== 'channelsLast' || Math.min(padTop, padLeft, padBottom, padRight) < 0) {
    if (!stock) throw new Error(`WASM ${kernelName} cannot handle this case and has no stock kernel`);
    return stock(args) as TensorInfo;
  }

  const reversed = runStock('Reverse', backend, { x: filter }, { dims: [0, 1] });
  const flipped = transpose(backend, reversed, [0, 1, 3, 2]);
  release(backend, reversed);
  const stuffed = strideHeight === 1 && strideWidth === 1 ? dy : insertZeros(backend, dy, strideHeight, strideWidth);

  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [padTop, padBottom],
    [padLeft, padRight],
    [0, 0],
  ];
  const asForward = tf.backend_util.computeConv2DInfo(asShape4(stuffed.shape), asShape4(flipped.shape), 1, 1, pad);
  const dx =
    (winogradApplies(asForward, stuffed, flipped) ? winogradConv3x3(backend, stuffed, flipped) : undefined) ??
    runStock('Conv2D', backend, { x: stuffed, filter: flipped }, { strides: [1, 1], dilations: [1, 1], pad, dataFormat: 'NHWC' });
  release(backend, flipped);
  if (stuffed !== dy) release(backend, stuffed);
  return dx;
}

/** dy with (stride-1) zero rows/columns between its pixels, as a strided forward pass saw them. */
function insertZeros(backend: WasmBackend, dy: TensorInfo, strideHeight: number, strideWidth: number): TensorInfo {
  const [batch, height, width, channels] = dy.shape;
  const outHeight = (height - 1) * strideHeight + 1;
  const outWidth = (width - 1) * strideWidth + 1;
  const out = backend.makeOutput([batch, outHeight, outWidth, channels], 'float32');
  const source = heapView(backend, dy);
  const target = heapView(backend, out);
  target.fill(0);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const from = ((b * height + y) * width + x) * channels;
        const to = ((b * outHeight + y * strideHeight) * outWidth + x * strideWidth) * channels;
        target.set(source.subarray(from, from + channels), to);
      }
    }
  }
  return out;
}
