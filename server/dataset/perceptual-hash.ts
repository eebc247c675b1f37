// A 64-bit perceptual hash (pHash): the picture as 32x32 grey values, its 8x8 lowest 2-D cosine
// frequencies, one bit per frequency (is it above the median of the 63 non-constant ones). Re-encoding,
// resizing and mild brightness changes keep nearly every bit, while different lesion photos differ
// in about half of them, so a small Hamming distance marks the same picture.

const SIDE = 32;
const FREQUENCIES = 8;

/** The side `perceptualHash` needs: decode the image at this square size (RGB) and pass its pixels. */
export const HASH_SOURCE_SIZE = SIDE;

// COSINES[u][x] = cos((2x + 1) u pi / 2N): the DCT-II basis, computed once.
const COSINES = Array.from({ length: FREQUENCIES }, (_, u) => Float64Array.from({ length: SIDE }, (_, x) => Math.cos(((2 * x + 1) * u * Math.PI) / (2 * SIDE))));

/** pHash of 32x32 RGB pixels as 16 hex digits. */
export function perceptualHash(rgb: Uint8Array): string {
  if (rgb.length !== SIDE * SIDE * 3) throw new RangeError(`perceptualHash needs ${SIDE}x${SIDE} RGB pixels, got ${rgb.length} values`);
  const grey = new Float64Array(SIDE * SIDE);
  for (let i = 0; i < grey.length; i++) grey[i] = 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
  // Separable DCT, only the low frequencies: along rows first, then down the columns.
  const rows = new Float64Array(SIDE * FREQUENCIES);
  for (let y = 0; y < SIDE; y++) {
    for (let u = 0; u < FREQUENCIES; u++) {
      let sum = 0;
      for (let x = 0; x < SIDE; x++) sum += grey[y * SIDE + x] * COSINES[u][x];
      rows[y * FREQUENCIES + u] = sum;
    }
  }
  const coefficients: number[] = [];
  for (let v = 0; v < FREQUENCIES; v++) {
    for (let u = 0; u < FREQUENCIES; u++) {
      let sum = 0;
      for (let y = 0; y < SIDE; y++) sum += rows[y * FREQUENCIES + u] * COSINES[v][y];
      coefficients.push(sum);
    }
  }
  // The constant term (overall brightness) is left out of the median.
  const median = coefficients.slice(1).sort((a, b) => a - b)[31];
  let hex = '';
  for (let byte = 0; byte < 8; byte++) {
    let value = 0;
    for (let bit = 0; bit < 8; bit++) value = (value << 1) | (coefficients[byte * 8 + bit] > median ? 1 : 0);
    hex += value.toString(16).padStart(2, '0');
  }
  return hex;
}

function popcount32(n: number): number {
  n -= (n >>> 1) & 0x55555555;
  n = (n & 0x33333333) + ((n >>> 2) & 0x33333333);
  return (((n + (n >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Two hashes as 32-bit halves, for fast comparison of many pairs. */
export function hashHalves(hash: string): [number, number] {
  return [parseInt(hash.slice(0, 8), 16) >>> 0, parseInt(hash.slice(8, 16), 16) >>> 0];
}

/** Bits that differ between two hashes (0..64). */
export function hammingDistance(a: string, b: string): number {
  const [a1, a2] = hashHalves(a);
  const [b1, b2] = hashHalves(b);
  return popcount32((a1 ^ b1) >>> 0) + popcount32((a2 ^ b2) >>> 0);
}

export function halvesDistance(a: [number, number], b: [number, number]): number {
  return popcount32((a[0] ^ b[0]) >>> 0) + popcount32((a[1] ^ b[1]) >>> 0);
}
