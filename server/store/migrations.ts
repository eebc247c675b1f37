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
  // 2: classified images kept for review with the user's correction, and decoded facts of dataset
  // images by content hash (so a restart does not decode the whole dataset again).
  `
  CREATE TABLE kept_predictions (
    -- 'pred-' and 32 random hex digits: the id is the only handle a client gets, so it must not be guessable.
    id               TEXT    PRIMARY KEY,
    created_at       TEXT    NOT NULL,
    model_version    TEXT    NOT NULL,
    class_names_json TEXT    NOT NULL,
    predicted_label  TEXT    NOT NULL,
    probability      REAL,
    file_name        TEXT,
    -- The re-encoded image under the feedback folder; NULL once deleted (rejected, expired, accepted).
    image_file       TEXT,
    content_hash     TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('kept', 'pending', 'accepted', 'rejected', 'expired')),
    true_label       TEXT,
    feedback_at      TEXT,
    reviewed_at      TEXT,
    dataset_image_id TEXT
  );
  CREATE INDEX kept_predictions_by_status ON kept_predictions (status, created_at);

  CREATE TABLE image_facts (
    content_hash    TEXT PRIMARY KEY,
    width           INTEGER,
    height          INTEGER,
    format          TEXT,
    perceptual_hash TEXT,
    problem         TEXT
  ) WITHOUT ROWID;
  `,
  // Which process (host name and pid) created each run, so a process starting up marks as
  // interrupted only the open runs of processes that are gone, not those of one still training.
  `
  ALTER TABLE training_runs ADD COLUMN owner_host TEXT;
  ALTER TABLE training_runs ADD COLUMN owner_pid INTEGER;
  `,
];

/** The `user_version` of a database this release has fully migrated. */
export const schemaVersion = migrations.length;
