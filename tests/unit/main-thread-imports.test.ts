// The server's main thread handles requests and never computes with tensors: it must not load
// tfjs (half a second of start-up and its memory). Forward passes and training load it in their
// own threads. Checked in a fresh process, since this test process has tfjs loaded already.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/paths.js';

const run = promisify(execFile);

/** Whether importing `module` (from the repo root) creates tfjs's global engine. */
async function loadsTfjs(module: string): Promise<boolean> {
  const script = `await import(${JSON.stringify(path.join(repoRoot, module))}); console.log(JSON.stringify(globalThis._tfengine !== undefined));`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as boolean;
}

describe('modules of the main thread', () => {
  it('the HTTP and GraphQL stack, the services and the registry load without tfjs', async () => {
    expect(await loadsTfjs('server/http/app.ts')).toBe(false);
  });

  it('the check itself sees tfjs when a module does load it', async () => {
    expect(await loadsTfjs('server/ml/preprocess.ts')).toBe(true);
  });
});
