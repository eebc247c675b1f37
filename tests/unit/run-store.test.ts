import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultTrainingParams, type ModelMetadata } from '../../server/ml/types.js';
import { schemaVersion } from '../../server/store/migrations.js';
import { RunStore, StoreError, openRunStoreSafely, type EpochRecord, type StoreErrorCode } from '../../server/store/run-store.js';
import { EPOCHS_PER_RUN, ROC_POINTS, expectedEpoch, expectedMetrics } from '../fixtures/run-store-writer.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const writerScript = path.join(repoRoot, 'tests/fixtures/run-store-writer.ts');

let dir: string;
let file: string;
const opened: RunStore[] = [];

function open(at = file): RunStore {
  const store = RunStore.open(at);
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-store-'));
  file = path.join(dir, 'nested', 'runs.sqlite');
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function epoch(n: number, overrides: Partial<EpochRecord> = {}): EpochRecord {
  return {
    epoch: n,
    loss: 1 / n,
    accuracy: 0.5 + n / 100,
    validationLoss: 0.9 / n,
    validationAccuracy: 0.55 + n / 100,
    validationAuc: 0.6 + n / 100,
    learningRate: 0.001,
    seconds: 12.5,
    imagesPerSecond: 80 + n,
    ...overrides,
  };
}

const params = { ...defaultTrainingParams, epochs: 3, seed: 7 };

const metrics: ModelMetadata['metrics'] = {
  validation: {
    n: 40,
    positives: 10,
    auc: 0.81,
    accuracy: 0.75,
    balancedAccuracy: 0.74,
    sensitivity: 0.9,
    specificity: 0.7,
    threshold: 0.31,
    ece: 0.05,
    confusionMatrix: { tp: 9, fp: 9, tn: 21, fn: 1 },
    roc: [
      { fpr: 0, tpr: 0, threshold: 1 },
      { fpr: 1, tpr: 1, threshold: 0 },
    ],
    calibration: [{ lower: 0, upper: 1, count: 40, meanPredicted: 0.3, fractionPositive: 0.25 }],
  },
};

function expectStoreError(action: () => unknown, code: StoreErrorCode): StoreError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe(code);
    return error as StoreError;
  }
  throw new Error(`expected StoreError ${code}, nothing was thrown`);
}

function isIsoTime(value: string | null): boolean {
  return value !== null && new Date(value).toISOString() === value;
}

describe('RunStore lifecycle', () => {
  it('records a run from queued through running to succeeded', () => {
    const store = open();
    const created = store.create({ params, autoPromote: true, trigger: 'api' });
    expect(created).toMatchObject({
      status: 'queued',
      trigger: 'api',
      params,
      autoPromote: true,
      startedAt: null,
      finishedAt: null,
      errorCode: null,
      errorMessage: null,
      modelVersion: null,
      activated: false,
      metrics: null,
      epochs: [],
    });
    expect(created.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(isIsoTime(created.createdAt)).toBe(true);

    const running = store.markRunning(created.id);
    expect(running.status).toBe('running');
    expect(isIsoTime(running.startedAt)).toBe(true);
    expect(running.startedAt! >= running.createdAt).toBe(true);

    store.appendEpoch(created.id, epoch(1));
    store.appendEpoch(created.id, epoch(2));
    const finished = store.finish(created.id, { status: 'succeeded', modelVersion: 'v-20240101-abc', activated: true, metrics });

    expect(finished).toEqual({
      ...running,
      status: 'succeeded',
      finishedAt: finished.finishedAt,
      modelVersion: 'v-20240101-abc',
      activated: true,
      metrics,
      epochs: [epoch(1), epoch(2)],
    });
    expect(isIsoTime(finished.finishedAt)).toBe(true);
    expect(store.get(created.id)).toEqual(finished);
  });

  it('records failures with their code and message, and cancellation', () => {
    const store = open();
    const failing = store.create({ params, autoPromote: false, trigger: 'cli' });
    store.markRunning(failing.id);
    const failed = store.finish(failing.id, { status: 'failed', errorCode: 'NO_IMAGES', errorMessage: 'train/ holds no images' });
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'NO_IMAGES', errorMessage: 'train/ holds no images', modelVersion: null, metrics: null });

    const cancelling = store.create({ params, autoPromote: false, trigger: 'api' });
    store.markRunning(cancelling.id);
    store.appendEpoch(cancelling.id, epoch(1));
    const cancelled = store.finish(cancelling.id, { status: 'cancelled' });
    expect(cancelled).toMatchObject({ status: 'cancelled', errorCode: null, epochs: [epoch(1)] });
    expect(isIsoTime(cancelled.finishedAt)).toBe(true);
  });

  it('lets a queued run be cancelled or fail without ever starting', () => {
    const store = open();
    const a = store.create({ params, autoPromote: false, trigger: 'api' });
    const b = store.create({ params, autoPromote: false, trigger: 'startup' });
    expect(store.finish(a.id, { status: 'cancelled' })).toMatchObject({ status: 'cancelled', startedAt: null });
    expect(store.finish(b.id, { status: 'failed', errorCode: 'QUEUE_FULL', errorMessage: 'too many runs' })).toMatchObject({
      status: 'failed',
      startedAt: null,
      errorCode: 'QUEUE_FULL',
    });
  });

  it('gives every run its own id, never reusing one', () => {
    const store = open();
    const ids = Array.from({ length: 5 }, () => store.create({ params, autoPromote: false, trigger: 'api' }).id);
    expect(new Set(ids).size).toBe(5);
    store.close();
    const reopened = open();
    expect(ids).not.toContain(reopened.create({ params, autoPromote: false, trigger: 'api' }).id);
  });
});

describe('epochs', () => {
  it('keeps epochs ordered by number and replaces a repeated epoch', () => {
    const store = open();
    const run = store.create({ params, autoPromote: false, trigger: 'api' });
    store.markRunning(run.id);
    store.appendEpoch(run.id, epoch(3));
    store.appendEpoch(run.id, epoch(1));
    store.appendEpoch(run.id, epoch(2));
    store.appendEpoch(run.id, epoch(2, { loss: 0.123, seconds: 99 }));

    const epochs = store.get(run.id)!.epochs;
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(epochs[1]).toEqual(epoch(2, { loss: 0.123, seconds: 99 }));
    expect(epochs[0]).toEqual(epoch(1));
  });

  it('keeps each run’s epochs apart', () => {
    const store = open();
    const a = store.create({ params, autoPromote: false, trigger: 'api' });
    const b = store.create({ params, autoPromote: false, trigger: 'api' });
    store.markRunning(a.id);
    store.markRunning(b.id);
    store.appendEpoch(a.id, epoch(1));
    store.appendEpoch(b.id, epoch(1, { loss: 7 }));
    store.appendEpoch(b.id, epoch(2));
    expect(store.get(a.id)!.epochs).toEqual([epoch(1)]);
    expect(store.get(b.id)!.epochs).toEqual([epoch(1, { loss: 7 }), epoch(2)]);
  });

  it('stores NaN validation figures and metrics as null, and a NaN loss reads back as NaN', () => {
    const store = open();
    const run = store.create({ params, autoPromote: false, trigger: 'api' });
    store.markRunning(run.id);
    store.appendEpoch(run.id, epoch(1, { validationLoss: NaN, validationAccuracy: Infinity, validationAuc: NaN, loss: NaN }));
    const oneClass = { ...metrics.validation!, auc: NaN, balancedAccuracy: NaN };
    store.finish(run.id, { status: 'succeeded', modelVersion: 'v1', activated: false, metrics: { validation: oneClass } });
    store.close();

    const record = open().get(run.id)!;
    const stored = record.epochs[0]!;
    expect(stored.validationLoss).toBeNull();
    expect(stored.validationAccuracy).toBeNull();
    expect(stored.validationAuc).toBeNull();
    expect(stored.loss).toBeNaN();
    expect(stored.accuracy).toBe(epoch(1).accuracy);
    expect(record.metrics!.validation!.auc).toBeNull();
    expect(record.metrics!.validation!.balancedAccuracy).toBeNull();
    expect(record.metrics!.validation!.sensitivity).toBe(0.9);
  });

  it('rejects an epoch number that is not a whole number >= 0', () => {
    const store = open();
    const run = store.create({ params, autoPromote: false, trigger: 'api' });
    store.markRunning(run.id);
    expect(() => store.appendEpoch(run.id, epoch(1.5))).toThrow(RangeError);
    expect(() => store.appendEpoch(run.id, epoch(-1))).toThrow(RangeError);
    expect(store.get(run.id)!.epochs).toEqual([]);
  });
});

describe('list', () => {
  function seed(store: RunStore): string[] {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const run = store.create({ params: { ...params, seed: i }, autoPromote: false, trigger: 'api' });
      ids.push(run.id);
      if (i % 2 === 0) {
        store.markRunning(run.id);
        store.appendEpoch(run.id, epoch(1));
      }
      if (i % 3 === 0) store.finish(run.id, { status: 'cancelled' });
    }
    // statuses by index: 0 cancelled, 1 queued, 2 running, 3 cancelled, 4 running, 5 queued
    return ids;
  }

  it('lists newest first, with a limit and a status filter', () => {
    const store = open();
    const ids = seed(store);
    expect(store.list().map((r) => r.id)).toEqual([...ids].reverse());
    expect(store.list({ limit: 2 }).map((r) => r.id)).toEqual([ids[5], ids[4]]);
    expect(store.list({ limit: 0 })).toEqual([]);
    expect(store.list({ status: 'running' }).map((r) => r.id)).toEqual([ids[4], ids[2]]);
    expect(store.list({ status: 'cancelled', limit: 1 }).map((r) => r.id)).toEqual([ids[3]]);
    expect(store.list({ status: 'succeeded' })).toEqual([]);
  });

  it('returns whole records, epochs included', () => {
    const store = open();
    const ids = seed(store);
    const listed = store.list({ status: 'running' });
    expect(listed).toEqual([store.get(ids[4]!), store.get(ids[2]!)]);
    expect(listed[0]!.epochs).toEqual([epoch(1)]);
    expect(listed[0]!.params.seed).toBe(4);
  });

  it('rejects a limit that is not a whole number >= 0', () => {
    const store = open();
    expect(() => store.list({ limit: -1 })).toThrow(RangeError);
    expect(() => store.list({ limit: 2.5 })).toThrow(RangeError);
  });
});

describe('status transitions', () => {
  it('refuses transitions the lifecycle does not allow and leaves the record unchanged', () => {
    const store = open();
    const run = store.create({ params, autoPromote: false, trigger: 'api' });
    expectStoreError(() => store.finish(run.id, { status: 'succeeded', modelVersion: 'v', activated: false, metrics }), 'INVALID_TRANSITION');
    expectStoreError(() => store.appendEpoch(run.id, epoch(1)), 'INVALID_TRANSITION');
    expect(store.get(run.id)).toEqual(run);

    const running = store.markRunning(run.id);
    expectStoreError(() => store.markRunning(run.id), 'INVALID_TRANSITION');
    expect(store.get(run.id)).toEqual(running);

    const done = store.finish(run.id, { status: 'succeeded', modelVersion: 'v', activated: false, metrics });
    for (const attempt of [
      () => store.markRunning(run.id),
      () => store.finish(run.id, { status: 'cancelled' }),
      () => store.finish(run.id, { status: 'failed', errorCode: 'X', errorMessage: 'x' }),
      () => store.finish(run.id, { status: 'succeeded', modelVersion: 'other', activated: true, metrics: {} }),
      () => store.appendEpoch(run.id, epoch(2)),
    ]) {
      const error = expectStoreError(attempt, 'INVALID_TRANSITION');
      expect(error.message).toContain('succeeded');
    }
    expect(store.get(run.id)).toEqual(done);
  });

  it('reports unknown runs as RUN_NOT_FOUND and get() as null', () => {
    const store = open();
    store.create({ params, autoPromote: false, trigger: 'api' });
    for (const id of ['run-999', 'nonsense', 'run-0', 'run-01', '']) {
      expect(store.get(id)).toBeNull();
      expectStoreError(() => store.markRunning(id), 'RUN_NOT_FOUND');
      expectStoreError(() => store.appendEpoch(id, epoch(1)), 'RUN_NOT_FOUND');
      expectStoreError(() => store.finish(id, { status: 'cancelled' }), 'RUN_NOT_FOUND');
    }
  });
});

describe('durability', () => {
  it('keeps everything across close and reopen', () => {
    const store = open();
    const a = store.create({ params, autoPromote: true, trigger: 'api' });
    store.markRunning(a.id);
    store.appendEpoch(a.id, epoch(1));
    store.appendEpoch(a.id, epoch(2, { validationAuc: null }));
    store.finish(a.id, { status: 'succeeded', modelVersion: 'v7', activated: true, metrics });
    const b = store.create({ params: { ...params, architecture: 'mobilenet-like' }, autoPromote: false, trigger: 'startup' });
    store.finish(b.id, { status: 'failed', errorCode: 'E', errorMessage: 'boom' });
    const before = store.list();
    store.close();

    const reopened = open();
    expect(reopened.list()).toEqual(before);
    expect(reopened.get(a.id)!.epochs[1]!.validationAuc).toBeNull();
  });

  it('creates its schema once, in WAL mode, with user_version set', () => {
    open().create({ params, autoPromote: false, trigger: 'api' });
    open(); // a second connection finds the schema in place instead of creating it again
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(schemaVersion);
      expect(schemaVersion).toBeGreaterThanOrEqual(1);
      expect((raw.prepare('SELECT count(*) AS n FROM training_runs').get() as { n: number }).n).toBe(1);
    } finally {
      raw.close();
    }
  });

  it('works in memory', () => {
    const store = open(':memory:');
    const run = store.create({ params, autoPromote: false, trigger: 'cli' });
    expect(store.get(run.id)?.status).toBe('queued');
  });

  it('marks runs a stopped process left open as interrupted', () => {
    const crashed = open();
    const queued = crashed.create({ params, autoPromote: false, trigger: 'api' });
    const running = crashed.create({ params, autoPromote: true, trigger: 'api' });
    crashed.markRunning(running.id);
    crashed.appendEpoch(running.id, epoch(1));
    const done = crashed.create({ params, autoPromote: false, trigger: 'api' });
    crashed.finish(done.id, { status: 'cancelled' });
    const doneRecord = crashed.get(done.id);
    crashed.close(); // the process goes away without finishing its runs

    const restarted = open();
    expect(restarted.markInterrupted()).toBe(2);
    for (const id of [queued.id, running.id]) {
      const record = restarted.get(id)!;
      expect(record.status).toBe('interrupted');
      expect(record.errorCode).toBe('INTERRUPTED');
      expect(record.errorMessage).toMatch(/process .*stopped/);
      expect(isIsoTime(record.finishedAt)).toBe(true);
    }
    expect(restarted.get(running.id)!.epochs).toEqual([epoch(1)]);
    expect(restarted.get(done.id)).toEqual(doneRecord);
    expect(restarted.markInterrupted()).toBe(0);
    expectStoreError(() => restarted.markRunning(queued.id), 'INVALID_TRANSITION');
  });

  it('survives a writer process killed with SIGKILL mid-write: every acknowledged write is there, whole', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledgedEpochs = new Map<string, number>();
    const acknowledgedFinishes = new Set<string>();
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));

    await new Promise<void>((resolve, reject) => {
      let pending = '';
      child.stdout.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          const [kind, id, n] = line.split(' ');
          if (kind === 'epoch') acknowledgedEpochs.set(id!, Number(n));
          if (kind === 'finished') acknowledgedFinishes.add(id!);
        }
        if (acknowledgedFinishes.size >= 25) {
          child.kill('SIGKILL'); // the writer does not pause: it dies somewhere inside its next writes
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`writer exited on its own: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const store = open(); // passes quick_check, or open() would throw DATABASE_DAMAGED
    const runs = store.list();
    expect(runs.length).toBeGreaterThanOrEqual(acknowledgedFinishes.size);

    for (const [id, lastEpoch] of acknowledgedEpochs) {
      const run = store.get(id)!;
      expect(run.epochs.length).toBeGreaterThanOrEqual(lastEpoch);
    }
    for (const id of acknowledgedFinishes) expect(store.get(id)!.status).toBe('succeeded');

    let unfinished = 0;
    for (const run of runs) {
      expect(run.params).toEqual(defaultTrainingParams);
      expect(run.epochs).toEqual(run.epochs.map((e, i) => expectedEpoch(run.id, i + 1)));
      if (run.status === 'succeeded') {
        expect(run.epochs).toHaveLength(EPOCHS_PER_RUN);
        expect(run.modelVersion).toBe(`model-${run.id}`);
        expect(run.metrics).toEqual(expectedMetrics(run.id));
        expect(run.metrics!.validation!.roc).toHaveLength(ROC_POINTS);
      } else {
        expect(['queued', 'running']).toContain(run.status);
        expect(run.metrics).toBeNull();
        unfinished++;
      }
    }
    expect(unfinished).toBeLessThanOrEqual(1); // only the run the writer was in the middle of
    expect(store.markInterrupted()).toBe(unfinished);
  });
});

describe('runs of other processes', () => {
  function startWriter() {
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let finished = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (finished += chunk.toString().split('\n').filter((line) => line.startsWith('finished')).length));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const finishedAtLeast = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const poll = setInterval(() => {
          if (finished >= n) {
            clearInterval(poll);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearInterval(poll);
            reject(new Error(`the writer stopped after ${finished} runs: ${stderr}`));
          }
        }, 10);
      });
    return { child, exited, finishedAtLeast, finished: () => finished };
  }

  it('leaves the open runs of a process that is still alive, and marks them once it is gone', async () => {
    const writer = startWriter();
    try {
      await writer.finishedAtLeast(3);
      // A second process starting on the same store while the first is in the middle of a run.
      const starting = open();
      expect(starting.markInterrupted()).toBe(0);
      // Had its run been marked, the writer's next epoch would fail with INVALID_TRANSITION and stop it.
      await writer.finishedAtLeast(writer.finished() + 3);
    } finally {
      writer.child.kill('SIGKILL');
      await writer.exited;
    }
    const restarted = open();
    restarted.markInterrupted();
    const runs = restarted.list();
    expect(runs.filter((r) => r.status === 'queued' || r.status === 'running')).toEqual([]);
    expect(runs.filter((r) => r.status === 'interrupted').length).toBeLessThanOrEqual(1);
  });

  it('counts runs recorded on another host, or before owners were recorded, as abandoned', () => {
    const store = open();
    const elsewhere = store.create({ params, autoPromote: false, trigger: 'api' });
    const unowned = store.create({ params, autoPromote: false, trigger: 'api' });
    store.close();
    const raw = new Database(file);
    // The parent of this process is alive, so only the host name makes the first run abandoned.
    raw.prepare(`UPDATE training_runs SET owner_host = 'another-host', owner_pid = ? WHERE seq = ?`).run(process.ppid, Number(elsewhere.id.slice(4)));
    raw.prepare(`UPDATE training_runs SET owner_host = NULL, owner_pid = NULL WHERE seq = ?`).run(Number(unowned.id.slice(4)));
    raw.close();
    const restarted = open();
    expect(restarted.markInterrupted()).toBe(2);
    expect([restarted.get(elsewhere.id)!.status, restarted.get(unowned.id)!.status]).toEqual(['interrupted', 'interrupted']);
  });
});

describe('a store shared by API replicas and trainer workers', () => {
  it('createIfIdle queues a run only while none is queued or running, across connections', () => {
    const replicaA = open();
    const replicaB = open();
    const first = replicaA.createIfIdle({ params, autoPromote: false, trigger: 'api' });
    expect('created' in first).toBe(true);
    const runId = 'created' in first ? first.created.id : '';
    expect(replicaB.createIfIdle({ params, autoPromote: true, trigger: 'api' })).toEqual({ open: replicaA.get(runId) });
    replicaB.markRunning(runId);
    expect(replicaA.createIfIdle({ params, autoPromote: false, trigger: 'api' })).toMatchObject({ open: { id: runId, status: 'running' } });
    expect(replicaA.openRun()?.id).toBe(runId);
    replicaB.finish(runId, { status: 'cancelled' });
    expect(replicaA.openRun()).toBeNull();
    const next = replicaB.createIfIdle({ params, autoPromote: false, trigger: 'api' });
    expect('created' in next && next.created.id).not.toBe(runId);
  });

  it('failIfOpen fails an open run once, whoever notices first, and leaves finished runs alone', () => {
    const store = open();
    const other = open();
    const run = store.create({ params, autoPromote: false, trigger: 'api' });
    store.markRunning(run.id);
    expect(store.failIfOpen(run.id, 'TRAINING_WORKER_LOST', 'gone')).toMatchObject({ status: 'failed', errorCode: 'TRAINING_WORKER_LOST', errorMessage: 'gone' });
    expect(other.failIfOpen(run.id, 'TRAINING_WORKER_LOST', 'gone again')).toBeNull();
    expect(other.get(run.id)!.errorMessage).toBe('gone');
    const done = store.create({ params, autoPromote: false, trigger: 'api' });
    store.finish(done.id, { status: 'cancelled' });
    expect(store.failIfOpen(done.id, 'X', 'y')).toBeNull();
    expect(store.get(done.id)!.status).toBe('cancelled');
    expect(() => store.failIfOpen('run-999', 'X', 'y')).toThrowError(expect.objectContaining({ code: 'RUN_NOT_FOUND' }));
  });

  it('markRunning makes the process that runs the run its owner, whoever queued it', () => {
    const store = open();
    const run = store.create({ params, autoPromote: false, trigger: 'api' });
    const raw = new Database(file);
    const seq = Number(run.id.slice(4));
    // Queued by a process that is gone.
    raw.prepare(`UPDATE training_runs SET owner_host = 'another-host', owner_pid = 1 WHERE seq = ?`).run(seq);
    store.markRunning(run.id);
    expect(raw.prepare('SELECT owner_host, owner_pid FROM training_runs WHERE seq = ?').get(seq)).toEqual({ owner_host: os.hostname(), owner_pid: process.pid });
    raw.close();
  });
});

describe('damaged databases', () => {
  function asideFiles(): string[] {
    return fs.readdirSync(path.dirname(file)).filter((name) => name.includes('.damaged-'));
  }

  it('refuses a file that is not SQLite with DATABASE_DAMAGED', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
    expectStoreError(() => RunStore.open(file), 'DATABASE_DAMAGED');
  });

  it('moves a file of random bytes aside and starts an empty store', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const garbage = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7919 + 13) % 251));
    fs.writeFileSync(file, garbage);

    const { store, problem } = openRunStoreSafely(file);
    opened.push(store);
    expect(problem).toMatch(/damaged|integrity/);
    const aside = asideFiles();
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/^runs\.sqlite\.damaged-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    expect(problem).toContain(aside[0]);
    expect(fs.readFileSync(path.join(path.dirname(file), aside[0]!)).equals(garbage)).toBe(true);

    expect(store.list()).toEqual([]);
    const run = store.create({ params, autoPromote: false, trigger: 'startup' });
    store.close();
    expect(open().get(run.id)?.status).toBe('queued');
  });

  it('detects a corrupted page with quick_check and moves the file aside', () => {
    const store = open();
    for (let i = 0; i < 40; i++) store.create({ params, autoPromote: false, trigger: 'api' });
    store.close(); // checkpoints the WAL into the main file

    const raw = new Database(file, { readonly: true });
    const indexPage = (raw.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'training_runs_by_status'`).get() as { rootpage: number }).rootpage;
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    raw.close();
    const bytes = fs.readFileSync(file);
    bytes.fill(0x5a, (indexPage - 1) * pageSize, indexPage * pageSize);
    fs.writeFileSync(file, bytes);

    const error = expectStoreError(() => RunStore.open(file), 'DATABASE_DAMAGED');
    expect(error.message).toContain('integrity check');

    const { store: fresh, problem } = openRunStoreSafely(file);
    opened.push(fresh);
    expect(problem).toContain('integrity check');
    expect(asideFiles()).toHaveLength(1);
    expect(fresh.list()).toEqual([]);
  });

  it('opens a healthy file as it is, keeping its records', () => {
    const first = open();
    const run = first.create({ params, autoPromote: false, trigger: 'api' });
    first.close();
    const { store, problem } = openRunStoreSafely(file);
    opened.push(store);
    expect(problem).toBeNull();
    expect(store.get(run.id)).toEqual(run);
    expect(asideFiles()).toEqual([]);
  });

  it('leaves a database from a newer release alone instead of calling it damaged', () => {
    open().create({ params, autoPromote: false, trigger: 'api' });
    opened.splice(0).forEach((s) => s.close());
    const raw = new Database(file);
    raw.pragma(`user_version = ${schemaVersion + 1}`);
    raw.close();

    expectStoreError(() => RunStore.open(file), 'SCHEMA_TOO_NEW');
    expectStoreError(() => openRunStoreSafely(file), 'SCHEMA_TOO_NEW');
    expect(asideFiles()).toEqual([]);
    const check = new Database(file, { readonly: true });
    expect((check.prepare('SELECT count(*) AS n FROM training_runs').get() as { n: number }).n).toBe(1);
    check.close();
  });
});
