// The active-version pointer file, readable without loading tfjs: start-up uses it to begin
// loading the active model in the inference thread before the registry itself is loaded.
import fs from 'node:fs/promises';
import path from 'node:path';

export const ACTIVE_FILE = 'active.json';

/** The version `active.json` names, unchecked (the registry verifies it); null when unreadable. */
export async function activeVersionHint(root: string): Promise<string | null> {
  try {
    const { version } = JSON.parse(await fs.readFile(path.join(root, ACTIVE_FILE), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}
