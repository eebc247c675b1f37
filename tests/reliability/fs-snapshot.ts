// What is on disk under some folders (path -> size, mtime and a hash of the content), so a test
// can show that a request wrote nothing, and search files for bytes that must not be there.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export type TreeSnapshot = Map<string, string>;

async function walk(dir: string, visit: (file: string) => Promise<void>): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, visit);
    else await visit(full);
  }
}

/**
 * Every file under `dirs` with its size, mtime and content hash. `ignore` leaves out files whose
 * changes mean nothing (SQLite's shared-memory index changes on reads).
 */
export async function snapshotTree(dirs: string[], ignore: (file: string) => boolean = () => false): Promise<TreeSnapshot> {
  const snapshot: TreeSnapshot = new Map();
  for (const dir of dirs) {
    await walk(dir, async (file) => {
      if (ignore(file)) return;
      const stat = await fs.stat(file);
      const hash = createHash('sha256').update(await fs.readFile(file)).digest('hex').slice(0, 16);
      snapshot.set(file, `${stat.size}:${stat.mtimeMs}:${hash}`);
    });
  }
  return snapshot;
}

/** Human-readable differences between two snapshots (empty when equal). */
export function treeChanges(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const changes: string[] = [];
  for (const [file, state] of after) {
    if (!before.has(file)) changes.push(`added ${file}`);
    else if (before.get(file) !== state) changes.push(`changed ${file}`);
  }
  for (const file of before.keys()) if (!after.has(file)) changes.push(`removed ${file}`);
  return changes;
}

/** Files under `dirs` whose bytes contain `needle`. */
export async function filesContaining(dirs: string[], needle: Buffer): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    await walk(dir, async (file) => {
      if ((await fs.readFile(file)).includes(needle)) found.push(file);
    });
  }
  return found;
}
