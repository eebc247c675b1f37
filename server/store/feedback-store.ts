// Classified images kept for review and what users said about them. A record moves
// kept -> pending (a correction was submitted) -> accepted | rejected, or kept -> expired when
// nobody gave feedback within the retention time; each change is one guarded UPDATE, so two
// reviewers cannot both accept the same item.
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { translateDamage } from './database.js';

export type FeedbackStatus = 'kept' | 'pending' | 'accepted' | 'rejected' | 'expired';

export interface KeptPrediction {
  id: string;
  createdAt: string;
  modelVersion: string;
  classNames: string[];
  predictedLabel: string;
  probability: number | null;
  fileName: string | null;
  /** File name under the feedback folder; null once the image was deleted. */
  imageFile: string | null;
  contentHash: string;
  status: FeedbackStatus;
  trueLabel: string | null;
  feedbackAt: string | null;
  reviewedAt: string | null;
  datasetImageId: string | null;
}

interface Row {
  id: string;
  created_at: string;
  model_version: string;
  class_names_json: string;
  predicted_label: string;
  probability: number | null;
  file_name: string | null;
  image_file: string | null;
  content_hash: string;
  status: FeedbackStatus;
  true_label: string | null;
  feedback_at: string | null;
  reviewed_at: string | null;
  dataset_image_id: string | null;
}

function toRecord(row: Row): KeptPrediction {
  let classNames: string[] = [];
  try {
    classNames = JSON.parse(row.class_names_json) as string[];
  } catch {
    // A damaged list only loses the label check; the record stays reviewable.
  }
  return {
    id: row.id,
    createdAt: row.created_at,
    modelVersion: row.model_version,
    classNames,
    predictedLabel: row.predicted_label,
    probability: row.probability,
    fileName: row.file_name,
    imageFile: row.image_file,
    contentHash: row.content_hash,
    status: row.status,
    trueLabel: row.true_label,
    feedbackAt: row.feedback_at,
    reviewedAt: row.reviewed_at,
    datasetImageId: row.dataset_image_id,
  };
}

export function newPredictionId(): string {
  return `pred-${randomBytes(16).toString('hex')}`;
}

export const PREDICTION_ID_PATTERN = /^pred-[0-9a-f]{32}$/;

export class FeedbackStore {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare<[Row]>(
        `INSERT INTO kept_predictions (id, created_at, model_version, class_names_json, predicted_label, probability, file_name, image_file, content_hash, status, true_label, feedback_at, reviewed_at, dataset_image_id)
         VALUES (@id, @created_at, @model_version, @class_names_json, @predicted_label, @probability, @file_name, @image_file, @content_hash, @status, @true_label, @feedback_at, @reviewed_at, @dataset_image_id)`,
      ),
      get: db.prepare<[string], Row>('SELECT * FROM kept_predictions WHERE id = ?'),
      list: db.prepare<{ status: FeedbackStatus | null; limit: number }, Row>(
        'SELECT * FROM kept_predictions WHERE (@status IS NULL OR status = @status) ORDER BY COALESCE(feedback_at, created_at) ASC, id LIMIT @limit',
      ),
      count: db.prepare<[FeedbackStatus], { n: number }>('SELECT COUNT(*) AS n FROM kept_predictions WHERE status = ?'),
      submit: db.prepare<[string, string, string]>(`UPDATE kept_predictions SET status = 'pending', true_label = ?, feedback_at = ? WHERE id = ? AND status IN ('kept', 'pending')`),
      review: db.prepare<[FeedbackStatus, string, string | null, string]>(
        `UPDATE kept_predictions SET status = ?, reviewed_at = ?, dataset_image_id = ?, image_file = NULL WHERE id = ? AND status = 'pending'`,
      ),
      expired: db.prepare<[string], Row>(`SELECT * FROM kept_predictions WHERE status = 'kept' AND created_at < ?`),
      expire: db.prepare<[string]>(`UPDATE kept_predictions SET status = 'expired', image_file = NULL WHERE id = ? AND status = 'kept'`),
    };
  }

  insert(record: Omit<KeptPrediction, 'status' | 'trueLabel' | 'feedbackAt' | 'reviewedAt' | 'datasetImageId'>): KeptPrediction {
    translateDamage(() =>
      this.statements.insert.run({
        id: record.id,
        created_at: record.createdAt,
        model_version: record.modelVersion,
        class_names_json: JSON.stringify(record.classNames),
        predicted_label: record.predictedLabel,
        probability: record.probability,
        file_name: record.fileName,
        image_file: record.imageFile,
        content_hash: record.contentHash,
        status: 'kept',
        true_label: null,
        feedback_at: null,
        reviewed_at: null,
        dataset_image_id: null,
      }),
    );
    return this.get(record.id)!;
  }

  get(id: string): KeptPrediction | null {
    const row = translateDamage(() => this.statements.get.get(id));
    return row ? toRecord(row) : null;
  }

  /** Oldest feedback first (the order a reviewer works through the queue). */
  list(options: { status?: FeedbackStatus; limit: number }): KeptPrediction[] {
    return translateDamage(() => this.statements.list.all({ status: options.status ?? null, limit: options.limit })).map(toRecord);
  }

  count(status: FeedbackStatus): number {
    return translateDamage(() => this.statements.count.get(status)!.n);
  }

  /** kept/pending -> pending with the label; false when the record is in another state. */
  submit(id: string, trueLabel: string, at: string): boolean {
    return translateDamage(() => this.statements.submit.run(trueLabel, at, id).changes === 1);
  }

  /** pending -> accepted/rejected (the image file is forgotten); false when it was not pending. */
  review(id: string, status: 'accepted' | 'rejected', at: string, datasetImageId: string | null): boolean {
    return translateDamage(() => this.statements.review.run(status, at, datasetImageId, id).changes === 1);
  }

  /** Kept records nobody gave feedback on since `before`. */
  keptBefore(before: string): KeptPrediction[] {
    return translateDamage(() => this.statements.expired.all(before)).map(toRecord);
  }

  expire(id: string): boolean {
    return translateDamage(() => this.statements.expire.run(id).changes === 1);
  }
}
