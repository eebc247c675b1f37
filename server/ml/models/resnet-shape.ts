// The shape of a residual network, and what it implies, without building it.
export interface ResNetShape {
  /** Filters of the stem convolution. */
  stem: number;
  /** Filters of each stage; every stage after the first halves the resolution. */
  widths: number[];
  /** Residual blocks per stage. */
  blocks: number;
  /** Stride of the stem convolution (2 halves the input at once). */
  stemStride: 1 | 2;
}

/** Input side below which the last stage would work on a single pixel. */
export function resNetMinImageSize(shape: ResNetShape): number {
  return shape.stemStride * 2 ** (shape.widths.length - 1) * 2;
}
