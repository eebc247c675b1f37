// server/index.ts as a real process: it trains a first model by itself when there is none,
// and SIGTERM stops it cleanly (the run is recorded as cancelled, not left open).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/paths.js';
import { RunStore } from '../../server/store/run-store.js';
import { defaultTrainingParams } from '../../server/ml/types.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, gql, tempDir } from './helpers.js';

let toy: ToyDataset;
let dir: string;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  toy = await createToyDataset({ splits: { train: 24 }, size: 48, seed: 6 });
  dir = await tempDir('api-process-');
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await toy?.cleanup();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const value = check();
      if (value !== undefined) return resolve(value);
      if (child?.exitCode !== null && child?.exitCode !== undefined) return reject(new Error(`the server exited (${child.exitCode}) before ${what}:\n${output}`));
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}:\n${output}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

describe('the server process', () => {
  it('starts training when no model exists, and stops cleanly on SIGTERM', async () => {
    const storeFile = path.join(dir, 'runs.sqlite');
    child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/index.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        TF_BACKEND: 'wasm',
        DATASETS_DIR: toy.root,
        MODELS_DIR: path.join(dir, 'models'),
        STORE_FILE: storeFile,
        ADMIN_TOKEN,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | string | null>((resolve) => child!.once('exit', (code, signal) => resolve(code ?? signal)));

    const url = await waitFor(() => /GraphQL at (http:\/\/\S+\/graphql)/.exec(output)?.[1], 'the listening line');
    await waitFor(() => (/training run run-1 started/.test(output) ? true : undefined), 'the automatic training run');

    const { data } = await gql(url, '{ modelStatus { ready trainingInProgress activeRunId } trainingRuns { id status trigger params { epochs } } }');
    expect(data!.modelStatus).toEqual({ ready: false, trainingInProgress: true, activeRunId: 'run-1' });
    expect(data!.trainingRuns).toEqual([{ id: 'run-1', status: 'RUNNING', trigger: 'STARTUP', params: { epochs: defaultTrainingParams.epochs } }]);

    child.kill('SIGTERM');
    const code = await exited;
    expect(code, output).toBe(0);
    expect(output).toMatch(/SIGTERM: shutting down/);
    expect(output).toMatch(/stopped/);
    expect(output).not.toContain(ADMIN_TOKEN);

    const store = RunStore.open(storeFile);
    try {
      expect(store.get('run-1')?.status).toBe('cancelled');
    } finally {
      store.close();
    }
  });
});
