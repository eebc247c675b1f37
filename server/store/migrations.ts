// The store's schema as an append-only list of steps. Step i brings a database from
// `user_version` i to i + 1, so a file written by any earlier release upgrades in place.
// Never edit a step that has shipped: add a new one (ALTER TABLE ... ADD COLUMN, CREATE ...).

export const migrations: readonly string[] = [
  // 1: training runs and their per-epoch history.
  `
  CREATE TABLE training_runs (
    -- The public id is 'run-' || seq. AUTOINCREMENT: a number is never handed out twice.
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    trigger       TEXT    NOT NULL CHECK (trigger IN ('api', 'startup', 'cli')),
    params_json   TEXT    NOT NULL,
    auto_promote  INTEGER NOT NULL CHECK (auto_promote IN (0, 1)),
    created_at    TEXT    NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    error_code    TEXT,
    error_message TEXT,
    model_version TEXT,
    activated     INTEGER NOT NULL DEFAULT 0 CHECK (activated IN (0, 1)),
    metrics_json  TEXT
  );
  CREATE INDEX training_runs_by_status ON training_runs (status, seq);

  CREATE TABLE training_run_epochs (
    run_seq             INTEGER NOT NULL REFERENCES training_runs (seq) ON DELETE CASCADE,
    epoch               INTEGER NOT NULL CHECK (epoch >= 0),
    -- REAL columns are NULL where the number was not finite (SQLite has no NaN).
    loss                REAL,
    accuracy            REAL,
    validation_loss     REAL,
    validation_accuracy REAL,
    validation_auc      REAL,
    learning_rate       REAL,
    seconds             REAL,
    images_per_second   REAL,
    PRIMARY KEY (run_seq, epoch)
  ) WITHOUT ROWID;
  `,
];

/** The `user_version` of a database this release has fully migrated. */
export const schemaVersion = migrations.length;
