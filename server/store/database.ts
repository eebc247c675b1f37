// Opens the SQLite file behind the store: durable settings, damage detection, schema upgrades.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrations, schemaVersion } from './migrations.js';

export type StoreErrorCode =
  /** No run with that id. */
  | 'RUN_NOT_FOUND'
  /** The run's current status does not allow the requested change. */
  | 'INVALID_TRANSITION'
  /** The file is not a SQLite database, fails its integrity check or holds unreadable records. */
  | 'DATABASE_DAMAGED'
  /** The file was written by a newer release (higher `user_version`); left untouched. */
  | 'SCHEMA_TOO_NEW';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export const IN_MEMORY = ':memory:';

/** Opens (creating if needed) a store database that passed `quick_check` and has the current schema. */
export function openDatabase(file: string): Database.Database {
  if (file !== IN_MEMORY) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  try {
    translateDamage(() => {
      configure(db);
      checkIntegrity(db);
      migrate(db);
    });
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** How long a process waits for others sharing the file to finish switching it to WAL. */
const JOURNAL_SWITCH_WAIT_MS = 10_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * WAL: readers (API queries) never wait for the training writer, and a crash mid-commit leaves
 * the previous state intact. Switching a file to WAL needs an exclusive lock for which SQLite
 * does not always call its busy handler: processes sharing a new file (API replicas and trainer
 * workers starting together) can get SQLITE_BUSY here, so the switch is retried for a while.
 */
function useWriteAheadLog(db: Database.Database): void {
  const deadline = Date.now() + JOURNAL_SWITCH_WAIT_MS;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() > deadline) throw error;
      sleepSync(25);
    }
  }
}

function configure(db: Database.Database): void {
  useWriteAheadLog(db);
  // FULL rather than NORMAL: NORMAL can lose the last commits on power loss (not on a process
  // crash). Writes here are a few per epoch, so an fsync per commit costs nothing noticeable and
  // a run recorded as finished stays finished, like the model files the registry fsyncs.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
}

function checkIntegrity(db: Database.Database): void {
  const findings = (db.pragma('quick_check') as { quick_check: string }[]).map((row) => row.quick_check);
  if (findings.length === 1 && findings[0] === 'ok') return;
  // Findings come as lines, the first naming the schema ("*** in database main ***").
  const details = findings.flatMap((finding) => finding.split('\n')).filter((line) => line && !line.startsWith('***'));
  throw new StoreError('DATABASE_DAMAGED', `database failed its integrity check: ${details.slice(0, 3).join('; ')}`);
}

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Database.Database): void {
  const found = userVersion(db);
  if (found > schemaVersion) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `database schema version ${found} is newer than this release understands (${schemaVersion}); run a newer release or point the store at another file`,
    );
  }
  for (let version = found; version < schemaVersion; version++) {
    // IMMEDIATE takes the write lock before looking, so two processes starting together
    // cannot both apply the same step.
    db.transaction(() => {
      if (userVersion(db) !== version) return;
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

/** SQLite's "this is not a database" and "corrupt" errors, as opposed to busy, full or permission errors. */
export function isDamageError(error: unknown): boolean {
  return error instanceof Database.SqliteError && (error.code === 'SQLITE_NOTADB' || error.code.startsWith('SQLITE_CORRUPT'));
}

/** Runs `work`, reporting SQLite damage errors as `StoreError('DATABASE_DAMAGED')`. */
export function translateDamage<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (!isDamageError(error)) throw error;
    throw new StoreError('DATABASE_DAMAGED', `database is damaged: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Renames a damaged database to `<file>.damaged-<timestamp>` (its `-wal` and `-shm` companions
 * follow, so the pair can still be examined together) and returns the new path.
 */
export function moveDamagedAside(file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let target = `${file}.damaged-${stamp}`;
  for (let n = 2; fs.existsSync(target); n++) target = `${file}.damaged-${stamp}-${n}`;
  fs.renameSync(file, target);
  for (const suffix of ['-wal', '-shm', '-journal']) {
    if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, target + suffix);
  }
  return target;
}
