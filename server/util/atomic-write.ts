// File-system steps for crash-safe writes: a file's bytes reach the disk before the rename that
// publishes it, and the directory entry of the rename reaches the disk after it.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** `prefix` followed by random hex: a name nobody else is using. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(8).toString('hex')}`;
}

/** Makes renames and creations inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes and fsyncs a file (not atomic by itself: use inside a temp folder or via `writeFileAtomic`). */
export async function writeFileDurable(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` so that readers see either the old or the new content, never a mix, even if the
 * process dies midway. The temp file is named `<tempPrefix><random>` beside the target.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, tempPrefix: string): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, uniqueName(tempPrefix));
  try {
    await writeFileDurable(temp, data);
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(dir);
}
