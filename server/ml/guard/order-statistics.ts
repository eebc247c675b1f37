// Order statistics of the per-pixel measures the input guard takes on every classified image.

/** The value below which a share `q` of the sorted values lies (linear interpolation). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no values');
  const position = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

/**
 * `quantile` of unsorted values without sorting them (runs on every classified image, where a
 * full sort was most of this module's time). Leaves `values` as they are.
 */
export function selectQuantile(values: Float32Array, q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values');
  const position = Math.min(Math.max(q, 0), 1) * (values.length - 1);
  const lower = Math.floor(position);
  if (lower + 1 >= values.length || position === lower) return orderStatistics(values, [lower])[0]!;
  const [low, high] = orderStatistics(values, [lower, lower + 1]) as [number, number];
  return low + (high - low) * (position - lower);
}

// Radix selection: one pass counts the values by the top 12 bits of a key that orders as the
// floats do (sign, exponent and 3 bits of mantissa: buckets an eighth of an octave wide), then
// only the few hundred values in a wanted bucket are selected among. Three quickselects over a
// 94x94 image's values took ~0.2 ms per classified image; this takes a fraction of that.
const BUCKET_SHIFT = 20;
const bucketCounts = new Int32Array(1 << (32 - BUCKET_SHIFT));

/**
 * The bucket of a float given its bits as an int32: the top bits of a key whose unsigned order is
 * the floats' order (-0 before +0, as a typed array sorts them).
 */
function bucketOf(bits: number): number {
  return (bits ^ ((bits >> 31) | 0x80000000)) >>> BUCKET_SHIFT;
}

/**
 * The values at the given indices of the sorted values (`ranks` ascending, each in
 * 0..length-1), found without sorting or reordering `values` (no NaN among them).
 */
export function orderStatistics(values: Float32Array, ranks: readonly number[]): number[] {
  const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
  const counts = bucketCounts.fill(0);
  for (let i = 0; i < bits.length; i++) counts[bucketOf(bits[i]!)]!++;
  const results: number[] = [];
  let bucket = 0;
  let before = 0;
  let members: Float32Array | null = null;
  for (const rank of ranks) {
    if (!(rank >= 0 && rank < values.length && Number.isInteger(rank))) throw new RangeError(`rank ${rank} is outside 0..${values.length - 1}`);
    if (rank < before) throw new RangeError('ranks must be ascending');
    let moved = false;
    while (before + counts[bucket]! <= rank) {
      before += counts[bucket++]!;
      moved = true;
    }
    if (!members || moved) {
      members = new Float32Array(counts[bucket]!);
      let m = 0;
      for (let i = 0; i < bits.length; i++) if (bucketOf(bits[i]!) === bucket) members[m++] = values[i]!;
    }
    results.push(selectInPlace(members, rank - before));
  }
  return results;
}

/** Hoare's selection: afterwards values[k] is the k-th smallest, smaller ones before it, larger after. */
export function selectInPlace(values: Float32Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  while (right > left) {
    // Median of three as pivot keeps sorted and constant inputs linear.
    const middle = (left + right) >>> 1;
    const pivot = median3(values[left]!, values[middle]!, values[right]!);
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return values[k]!;
}

function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

/**
 * The values at index floor(q * (n - 1)) of the sorted values, for ascending shares `q`; 0 for
 * each when there are no values. Leaves `values` as they are.
 */
export function lowerOrderStatistics(values: Float32Array, ascendingShares: readonly number[]): number[] {
  if (values.length === 0) return ascendingShares.map(() => 0);
  return orderStatistics(
    values,
    ascendingShares.map((q) => Math.floor(Math.min(Math.max(q, 0), 1) * (values.length - 1))),
  );
}
