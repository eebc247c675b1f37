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
 * full sort was most of this module's time): quickselect puts the lower order statistic in
 * place, and the upper one is the smallest value after it. Reorders `values`.
 */
export function selectQuantile(values: Float32Array, q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values');
  const position = Math.min(Math.max(q, 0), 1) * (values.length - 1);
  const lower = Math.floor(position);
  const low = selectInPlace(values, lower);
  if (lower + 1 >= values.length || position === lower) return low;
  let high = Number.POSITIVE_INFINITY;
  for (let i = lower + 1; i < values.length; i++) if (values[i]! < high) high = values[i]!;
  return low + (high - low) * (position - lower);
}

/**
 * Hoare's selection: afterwards values[k] is the k-th smallest, smaller ones before it, larger
 * after. `from`: values before it are already no larger than any after it (a previous selection),
 * so a second, higher k can skip them.
 */
export function selectInPlace(values: Float32Array, k: number, from = 0): number {
  let left = from;
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
 * The values at index floor(q * (n - 1)) of the sorted values, for ascending shares `q`, found by
 * selection (each one searches only above the last); 0 for each when there are no values.
 * Reorders `values`.
 */
export function lowerOrderStatistics(values: Float32Array, ascendingShares: readonly number[]): number[] {
  let from = 0;
  return ascendingShares.map((q) => {
    if (values.length === 0) return 0;
    const index = Math.floor(Math.min(Math.max(q, 0), 1) * (values.length - 1));
    const value = selectInPlace(values, index, Math.min(from, index));
    from = index + 1;
    return value;
  });
}
