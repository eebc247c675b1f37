// Durable records of training runs: what was asked, how each epoch went and how the run ended,
// kept in SQLite so the history survives restarts and crashes.
import os from 'node:os';
import type Database from 'better-sqlite3';
import type { ModelMetadata, TrainingParams } from '../ml/types.js';
import { IN_MEMORY, StoreError, moveDamagedAside, openDatabase, translateDamage } from './database.js';

export { StoreError, type StoreErrorCode } from './database.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type RunTrigger = 'api' | 'startup' | 'cli';

/**
 * One finished epoch. Numbers are stored as SQLite REALs, which have no NaN or Infinity: a
 * non-finite value is stored as NULL. The validation figures then read back as `null` (they are
 * also null when the run had no validation split); the other fields read back as `NaN`.
 */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  validationLoss: number | null;
  validationAccuracy: number | null;
  validationAuc: number | null;
  learningRate: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainingRunRecord {
  /** `run-<n>`, n increasing and never reused within one database file. */
  id: string;
  status: RunStatus;
  trigger: RunTrigger;
  params: TrainingParams;
  autoPromote: boolean;
  /** ISO 8601. */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  modelVersion: string | null;
  activated: boolean;
  /** Stored as JSON: a NaN anywhere inside (e.g. AUC of a one-class set) reads back as `null`. */
  metrics: ModelMetadata['metrics'] | null;
  /** Ordered by epoch. */
  epochs: EpochRecord[];
}

export type RunOutcome =
  | { status: 'succeeded'; modelVersion: string; activated: boolean; metrics: ModelMetadata['metrics'] }
  | { status: 'failed'; errorCode: string; errorMessage: string }
  | { status: 'cancelled' };

const allowedNext: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['running', 'failed', 'cancelled', 'interrupted'],
  running: ['succeeded', 'failed', 'cancelled', 'interrupted'],
  succeeded: [],
  failed: [],
  cancelled: [],
  interrupted: [],
};

export const INTERRUPTED_MESSAGE = 'the process running this training stopped (crash, kill or restart) before the run finished';

interface RunRow {
  seq: number;
  status: RunStatus;
  trigger: RunTrigger;
  params_json: string;
  auto_promote: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error_code: string | null;
  error_message: string | null;
  model_version: string | null;
  activated: number;
  metrics_json: string | null;
  owner_host: string | null;
  owner_pid: number | null;
}

interface EpochRow {
  epoch: number;
  loss: number | null;
  accuracy: number | null;
  validation_loss: number | null;
  validation_accuracy: number | null;
  validation_auc: number | null;
  learning_rate: number | null;
  seconds: number | null;
  images_per_second: number | null;
}

function runId(seq: number): string {
  return `run-${seq}`;
}

function seqOf(id: string): number | null {
  const match = /^run-([1-9][0-9]{0,15})$/.exec(id);
  return match ? Number(match[1]) : null;
}

function finiteOrNull(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new StoreError('DATABASE_DAMAGED', `stored ${what} is not valid JSON`, { cause: error });
  }
}

function toEpochRecord(row: EpochRow): EpochRecord {
  return {
    epoch: row.epoch,
    loss: row.loss ?? NaN,
    accuracy: row.accuracy ?? NaN,
    validationLoss: row.validation_loss,
    validationAccuracy: row.validation_accuracy,
    validationAuc: row.validation_auc,
    learningRate: row.learning_rate ?? NaN,
    seconds: row.seconds ?? NaN,
    imagesPerSecond: row.images_per_second ?? NaN,
  };
}

function toRunRecord(row: RunRow, epochs: EpochRow[]): TrainingRunRecord {
  const id = runId(row.seq);
  return {
    id,
    status: row.status,
    trigger: row.trigger,
    params: parseJson<TrainingParams>(row.params_json, `params of ${id}`),
    autoPromote: row.auto_promote === 1,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    modelVersion: row.model_version,
    activated: row.activated === 1,
    metrics: row.metrics_json === null ? null : parseJson<ModelMetadata['metrics']>(row.metrics_json, `metrics of ${id}`),
    epochs: epochs.map(toEpochRecord),
  };
}

function prepareStatements(db: Database.Database) {
  return {
    insertRun: db.prepare<[RunTrigger, string, number, string, string, number]>(
      `INSERT INTO training_runs (status, trigger, params_json, auto_promote, created_at, owner_host, owner_pid) VALUES ('queued', ?, ?, ?, ?, ?, ?)`,
    ),
    selectRun: db.prepare<[number], RunRow>('SELECT * FROM training_runs WHERE seq = ?'),
    selectEpochs: db.prepare<[number], EpochRow>('SELECT * FROM training_run_epochs WHERE run_seq = ? ORDER BY epoch'),
    listRuns: db.prepare<{ status: RunStatus | null; limit: number }, RunRow>(
      'SELECT * FROM training_runs WHERE (@status IS NULL OR status = @status) ORDER BY seq DESC LIMIT @limit',
    ),
    startRun: db.prepare<[string, string, number, number]>(`UPDATE training_runs SET status = 'running', started_at = ?, owner_host = ?, owner_pid = ? WHERE seq = ?`),
    selectNewestOpenRun: db.prepare<[], RunRow>(`SELECT * FROM training_runs WHERE status IN ('queued', 'running') ORDER BY seq DESC LIMIT 1`),
    finishRun: db.prepare<
      [{ seq: number; status: RunStatus; finishedAt: string; errorCode: string | null; errorMessage: string | null; modelVersion: string | null; activated: number; metricsJson: string | null }]
    >(
      `UPDATE training_runs
          SET status = @status, finished_at = @finishedAt, error_code = @errorCode, error_message = @errorMessage,
              model_version = @modelVersion, activated = @activated, metrics_json = @metricsJson
        WHERE seq = @seq`,
    ),
    upsertEpoch: db.prepare<[EpochRow & { run_seq: number }]>(
      `INSERT OR REPLACE INTO training_run_epochs
         (run_seq, epoch, loss, accuracy, validation_loss, validation_accuracy, validation_auc, learning_rate, seconds, images_per_second)
       VALUES (@run_seq, @epoch, @loss, @accuracy, @validation_loss, @validation_accuracy, @validation_auc, @learning_rate, @seconds, @images_per_second)`,
    ),
    selectOpenRuns: db.prepare<[], Pick<RunRow, 'seq' | 'owner_host' | 'owner_pid'>>(
      `SELECT seq, owner_host, owner_pid FROM training_runs WHERE status IN ('queued', 'running')`,
    ),
    interruptRun: db.prepare<[string, string, number]>(
      `UPDATE training_runs SET status = 'interrupted', finished_at = ?, error_code = 'INTERRUPTED', error_message = ?
        WHERE seq = ? AND status IN ('queued', 'running')`,
    ),
  };
}

export class RunStore {
  private readonly statements: ReturnType<typeof prepareStatements>;

  private constructor(private readonly db: Database.Database) {
    this.statements = prepareStatements(db);
  }

  /**
   * Opens or creates the store at `file` (parent folders included; ':memory:' for a throwaway one).
   * Throws `StoreError` 'DATABASE_DAMAGED' or 'SCHEMA_TOO_NEW'; see `openRunStoreSafely`.
   */
  static open(file: string): RunStore {
    return new RunStore(openDatabase(file));
  }

  create(input: { params: TrainingParams; autoPromote: boolean; trigger: RunTrigger }): TrainingRunRecord {
    return this.write(() => {
      const { lastInsertRowid } = this.statements.insertRun.run(input.trigger, JSON.stringify(input.params), input.autoPromote ? 1 : 0, now(), os.hostname(), process.pid);
      return this.read(Number(lastInsertRowid))!;
    });
  }

  /** The process calling this becomes the run's owner (it may not be the one that queued it). */
  markRunning(id: string): TrainingRunRecord {
    return this.write(() => {
      const row = this.requireTransition(id, 'running');
      this.statements.startRun.run(now(), os.hostname(), process.pid, row.seq);
      return this.read(row.seq)!;
    });
  }

  /**
   * Queues a run unless one is queued or running, in one write transaction: processes sharing the
   * store cannot both start one. Returns the open run instead when there is one.
   */
  createIfIdle(input: { params: TrainingParams; autoPromote: boolean; trigger: RunTrigger }): { created: TrainingRunRecord } | { open: TrainingRunRecord } {
    return this.write(() => {
      const open = this.statements.selectNewestOpenRun.get();
      if (open) return { open: this.read(open.seq)! };
      return { created: this.create(input) };
    });
  }

  /** The newest queued or running run, if any. */
  openRun(): TrainingRunRecord | null {
    return this.readSnapshot(() => {
      const row = this.statements.selectNewestOpenRun.get();
      return row ? this.read(row.seq) : null;
    });
  }

  /** Fails the run if it is still queued or running (several processes may notice the same loss); null when it had finished. */
  failIfOpen(id: string, errorCode: string, errorMessage: string): TrainingRunRecord | null {
    return this.write(() => {
      const row = this.requireRow(id);
      if (row.status !== 'queued' && row.status !== 'running') return null;
      return this.finish(id, { status: 'failed', errorCode, errorMessage });
    });
  }

  /** Records a finished epoch of a running run; the same epoch again replaces the earlier record. */
  appendEpoch(id: string, epoch: EpochRecord): void {
    if (!Number.isSafeInteger(epoch.epoch) || epoch.epoch < 0) throw new RangeError(`epoch must be a whole number >= 0, got ${epoch.epoch}`);
    this.write(() => {
      const row = this.requireRow(id);
      if (row.status !== 'running') throw new StoreError('INVALID_TRANSITION', `run ${id} is ${row.status}: epochs can only be added while it is running`);
      this.statements.upsertEpoch.run({
        run_seq: row.seq,
        epoch: epoch.epoch,
        loss: finiteOrNull(epoch.loss),
        accuracy: finiteOrNull(epoch.accuracy),
        validation_loss: finiteOrNull(epoch.validationLoss),
        validation_accuracy: finiteOrNull(epoch.validationAccuracy),
        validation_auc: finiteOrNull(epoch.validationAuc),
        learning_rate: finiteOrNull(epoch.learningRate),
        seconds: finiteOrNull(epoch.seconds),
        images_per_second: finiteOrNull(epoch.imagesPerSecond),
      });
    });
  }

  finish(id: string, outcome: RunOutcome): TrainingRunRecord {
    return this.write(() => {
      const row = this.requireTransition(id, outcome.status);
      this.statements.finishRun.run({
        seq: row.seq,
        status: outcome.status,
        finishedAt: now(),
        errorCode: outcome.status === 'failed' ? outcome.errorCode : null,
        errorMessage: outcome.status === 'failed' ? outcome.errorMessage : null,
        modelVersion: outcome.status === 'succeeded' ? outcome.modelVersion : null,
        activated: outcome.status === 'succeeded' && outcome.activated ? 1 : 0,
        metricsJson: outcome.status === 'succeeded' ? JSON.stringify(outcome.metrics) : null,
      });
      return this.read(row.seq)!;
    });
  }

  get(id: string): TrainingRunRecord | null {
    const seq = seqOf(id);
    if (seq === null) return null;
    return this.readSnapshot(() => this.read(seq));
  }

  /** Newest first; `limit` (a whole number >= 0) caps the count, `status` keeps only runs in that status. */
  list(options: { limit?: number; status?: RunStatus } = {}): TrainingRunRecord[] {
    const { limit, status } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
    return this.readSnapshot(() =>
      this.statements.listRuns
        .all({ status: status ?? null, limit: limit ?? -1 })
        .map((row) => toRunRecord(row, this.statements.selectEpochs.all(row.seq))),
    );
  }

  /**
   * Runs left 'queued' or 'running' by a process that is gone become 'interrupted' (errorCode
   * 'INTERRUPTED', message says the process stopped); runs of a process still alive on this host
   * (another server sharing the store) are left alone. Returns how many were marked. Call it once
   * at start-up, before this process starts runs of its own.
   */
  markInterrupted(): number {
    return this.write(() => {
      let marked = 0;
      for (const run of this.statements.selectOpenRuns.all()) {
        if (ownerIsAlive(run.owner_host, run.owner_pid)) continue;
        marked += this.statements.interruptRun.run(now(), INTERRUPTED_MESSAGE, run.seq).changes;
      }
      return marked;
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private read(seq: number): TrainingRunRecord | null {
    const row = this.statements.selectRun.get(seq);
    return row ? toRunRecord(row, this.statements.selectEpochs.all(seq)) : null;
  }

  private requireRow(id: string): RunRow {
    const seq = seqOf(id);
    const row = seq === null ? undefined : this.statements.selectRun.get(seq);
    if (!row) throw new StoreError('RUN_NOT_FOUND', `no training run ${id}`);
    return row;
  }

  private requireTransition(id: string, next: RunStatus): RunRow {
    const row = this.requireRow(id);
    if (!allowedNext[row.status].includes(next)) throw new StoreError('INVALID_TRANSITION', `run ${id} is ${row.status}: it cannot become ${next}`);
    return row;
  }

  /**
   * One write transaction: all of it commits or none of it does. IMMEDIATE takes the write lock
   * before the status is read, so no other connection can change the run between check and write.
   */
  private write<T>(work: () => T): T {
    return translateDamage(() => this.db.transaction(work).immediate());
  }

  /** Several reads that see one consistent state of the database. */
  private readSnapshot<T>(work: () => T): T {
    return translateDamage(() => this.db.transaction(work).deferred());
  }
}

/**
 * Whether the process that created a run may still be running it. Only a process on this host can
 * be checked; a run from another host name (typically a replaced container on the same volume) or
 * from before owners were recorded counts as abandoned. Our own pid means an earlier process that
 * had it (a restarted container's pid 1), since this process has not started runs yet.
 */
function ownerIsAlive(host: string | null, pid: number | null): boolean {
  if (host !== os.hostname() || pid === null || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function now(): string {
  return new Date().toISOString();
}

/**
 * Opens the store at `file`; if the file is damaged (not SQLite, failed integrity check), moves it
 * to `<file>.damaged-<timestamp>`, starts an empty store and says so in `problem`. Other failures
 * (permissions, a disk that is full, a schema from a newer release) are thrown: replacing the
 * file would not fix them and could throw away good records.
 */
export function openRunStoreSafely(file: string): { store: RunStore; problem: string | null } {
  try {
    return { store: RunStore.open(file), problem: null };
  } catch (error) {
    if (!(error instanceof StoreError && error.code === 'DATABASE_DAMAGED') || file === IN_MEMORY) throw error;
    const movedTo = moveDamagedAside(file);
    return { store: RunStore.open(file), problem: `${error.message}; moved it to ${movedTo} and started an empty run history` };
  }
}
