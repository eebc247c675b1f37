// GraphQL's Float cannot carry NaN or Infinity: such figures (e.g. the AUC of a one-class set)
// are sent as null.
export function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
