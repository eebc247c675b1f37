// The repository root, found once, so data, models and static files resolve the same way
// from source under tsx and from compiled output.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'skin-cancer-detection') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the skin-cancer-detection root above ${start}`);
    dir = parent;
  }
}

export const repoRoot = process.env.APP_ROOT ? path.resolve(process.env.APP_ROOT) : findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** The real dermoscopic image set kept beside the checkout (never inside it). */
export const sharedDatasetDir = path.resolve(repoRoot, '../shared/datasets/skin-lesions');
