// How far an image's embedding (the network's penultimate activations) lies from the training
// images' embeddings: a Mahalanobis distance under a probabilistic-PCA model of their spread
// (Tipping & Bishop, 1999). The top principal directions keep their own variances; the rest share
// one, which keeps the model small enough to store with the version and well-posed even with
// fewer images than dimensions.

export interface EmbeddingDensity {
  dim: number;
  mean: number[];
  /** Principal directions, unit length, most variance first. */
  components: number[][];
  /** Variance along each principal direction. */
  variances: number[];
  /** Variance of every direction not kept. */
  residualVariance: number;
}

/** Eigenvalues (descending) and eigenvectors (as rows) of a symmetric matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const offDiagonal = () => {
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += a[i * n + j]! ** 2;
    return s;
  };
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i]! ** 2;
  for (let sweep = 0; sweep < 60 && offDiagonal() > 1e-22 * Math.max(scale, 1e-300); sweep++) {
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j]! - a[i * n + i]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((column, row) => {
    for (let k = 0; k < n; k++) vectors[row * n + k] = v[k * n + column]!;
  });
  return { values, vectors };
}

// Stored numbers keep 6 significant digits: far more than the distance needs, a third of the text.
const stored = (x: number) => Number(x.toPrecision(6));

/**
 * Fits the density to `rows` (n embeddings of `dim` values each, row-major). `components` is the
 * number of principal directions kept (capped at n - 1 and dim - 1).
 */
export function fitEmbeddingDensity(rows: Float32Array, dim: number, components = 16): EmbeddingDensity {
  const n = rows.length / dim;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`need at least two embeddings of ${dim} values, got ${rows.length} values`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += rows[i * dim + j]! / n;
  const covariance = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) centred[j] = rows[i * dim + j]! - mean[j]!;
    for (let j = 0; j < dim; j++) {
      const cj = centred[j]!;
      if (cj === 0) continue;
      for (let k = j; k < dim; k++) covariance[j * dim + k] += cj * centred[k]!;
    }
  }
  for (let j = 0; j < dim; j++) {
    for (let k = j; k < dim; k++) {
      covariance[j * dim + k] /= n - 1;
      covariance[k * dim + j] = covariance[j * dim + k]!;
    }
  }
  const { values, vectors } = symmetricEigen(covariance, dim);
  const kept = Math.max(1, Math.min(components, n - 1, dim - 1));
  const total = values.reduce((s, x) => s + Math.max(0, x), 0);
  // Directions the training images never vary in still get a little variance: a floor relative to
  // the overall spread keeps the distance finite and stops it from exploding on rounding noise.
  const floor = Math.max(1e-3 * (total / dim), 1e-12);
  let rest = 0;
  for (let i = kept; i < dim; i++) rest += Math.max(0, values[i]!);
  const residualVariance = Math.max(rest / (dim - kept), floor);
  return {
    dim,
    mean: Array.from(mean, stored),
    components: Array.from({ length: kept }, (_, c) => Array.from(vectors.subarray(c * dim, (c + 1) * dim), stored)),
    variances: Array.from(values.subarray(0, kept), (x) => stored(Math.max(x, residualVariance))),
    residualVariance: stored(residualVariance),
  };
}

/** Mahalanobis distance of one embedding under the density, scaled by sqrt(dim) so a typical training image scores about 1. */
export function embeddingDistance(density: EmbeddingDensity, embedding: ArrayLike<number>): number {
  const { dim, mean, components, variances, residualVariance } = density;
  if (embedding.length !== dim) throw new RangeError(`embedding has ${embedding.length} values, the density ${dim}`);
  const centred = Float64Array.from({ length: dim }, (_, j) => embedding[j]! - mean[j]!);
  let squaredNorm = 0;
  for (let j = 0; j < dim; j++) squaredNorm += centred[j]! * centred[j]!;
  let explained = 0;
  let score = 0;
  components.forEach((component, i) => {
    let projection = 0;
    for (let j = 0; j < dim; j++) projection += component[j]! * centred[j]!;
    explained += projection * projection;
    score += (projection * projection) / variances[i]!;
  });
  score += Math.max(0, squaredNorm - explained) / residualVariance;
  return Math.sqrt(score / dim);
}

/** Row `i` of row-major embeddings. */
export function embeddingRow(rows: Float32Array, dim: number, i: number): Float32Array {
  return rows.subarray(i * dim, (i + 1) * dim);
}
