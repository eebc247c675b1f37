// What changed between the data two model versions were trained on: per split and class, which
// content hashes were added and removed (counted as multisets, so a file present twice and then
// once counts as one removal). A relabelled image shows as removed from one class and added to
// the other.

/** split -> class -> content hashes. */
export type DatasetManifest = Record<string, Record<string, string[]>>;

export interface ManifestChange {
  split: string;
  label: string;
  before: number;
  after: number;
  added: string[];
  removed: string[];
}

function countHashes(hashes: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const hash of hashes) counts.set(hash, (counts.get(hash) ?? 0) + 1);
  return counts;
}

/** `from` minus `to`, as a sorted list with repeats. */
function missingFrom(from: Map<string, number>, to: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [hash, count] of from) for (let i = to.get(hash) ?? 0; i < count; i++) out.push(hash);
  return out.sort();
}

const sorted = (keys: Iterable<string>) => [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Every split and class of either manifest, in a stable order, with what was added and removed. */
export function diffManifests(before: DatasetManifest, after: DatasetManifest): ManifestChange[] {
  const changes: ManifestChange[] = [];
  for (const split of sorted([...Object.keys(before), ...Object.keys(after)])) {
    const labels = sorted([...Object.keys(before[split] ?? {}), ...Object.keys(after[split] ?? {})]);
    for (const label of labels) {
      const old = before[split]?.[label] ?? [];
      const now = after[split]?.[label] ?? [];
      const oldCounts = countHashes(old);
      const newCounts = countHashes(now);
      changes.push({ split, label, before: old.length, after: now.length, added: missingFrom(newCounts, oldCounts), removed: missingFrom(oldCounts, newCounts) });
    }
  }
  return changes;
}

/** "v7 saw 120 more malignant training images than v6; 3 fewer benign test images." */
export function describeChanges(fromVersion: string, toVersion: string, changes: ManifestChange[]): string {
  const parts = changes
    .filter((c) => c.after !== c.before || c.added.length > 0)
    .map((c) => {
      const net = c.after - c.before;
      const what = (n: number) => `${c.label} ${c.split === 'train' ? 'training' : c.split} image${n === 1 ? '' : 's'}`;
      if (net === 0) return `${c.added.length} different ${what(c.added.length)}`;
      return `${Math.abs(net)} ${net > 0 ? 'more' : 'fewer'} ${what(Math.abs(net))}`;
    });
  if (parts.length === 0) return `${toVersion} was trained on the same images as ${fromVersion}`;
  return `${toVersion} saw ${parts.join(', ')} than ${fromVersion}`;
}
