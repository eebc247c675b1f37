// Contiguous pieces of a range for several workers: the training replicas' batch shards and
// optimizer ranges, the inference threads' shares of a batch.

/** [start, start + count) of each of `parts` contiguous pieces of `total`, sizes differing by at most one. */
export function shardRanges(total: number, parts: number): { start: number; count: number }[] {
  return Array.from({ length: parts }, (_, k) => {
    const start = Math.floor((k * total) / parts);
    return { start, count: Math.floor(((k + 1) * total) / parts) - start };
  });
}
