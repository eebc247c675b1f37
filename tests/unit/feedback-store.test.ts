// The review queue's records: the store upgrades a database written before it existed without
// losing runs, and every status change is guarded so it happens once.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDatasetRecords } from '../../server/store/dataset-records.js';
import { newPredictionId } from '../../server/store/feedback-store.js';
import { migrations, schemaVersion } from '../../server/store/migrations.js';
import { RunStore } from '../../server/store/run-store.js';

const record = (id: string, createdAt = new Date().toISOString()) => ({
  id,
  createdAt,
  modelVersion: 'v1',
  classNames: ['benign', 'malignant'],
  predictedLabel: 'benign',
  probability: 0.2,
  fileName: 'x.png',
  imageFile: `${id}.png`,
  contentHash: 'ab'.repeat(32),
});

describe('FeedbackStore', () => {
  it('upgrades a store from before the review queue, keeping its training runs', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'feedback-store-'));
    const file = path.join(dir, 'runs.sqlite');
    try {
      const old = new Database(file);
      old.exec(migrations[0]);
      old.pragma('user_version = 1');
      old.prepare(`INSERT INTO training_runs (status, trigger, params_json, auto_promote, created_at) VALUES ('succeeded', 'cli', '{}', 0, '2024-01-01T00:00:00Z')`).run();
      old.close();

      const records = openDatasetRecords(file);
      const runs = RunStore.open(file);
      try {
        expect(runs.list().map((r) => r.id)).toEqual(['run-1']);
        const id = newPredictionId();
        records.feedback.insert(record(id));
        expect(records.feedback.get(id)).toMatchObject({ id, status: 'kept', classNames: ['benign', 'malignant'] });
        records.facts.put('cd'.repeat(32), { width: 10, height: 12, format: 'png', perceptualHash: '0f'.repeat(8), problem: null });
      } finally {
        runs.close();
        records.close();
      }
      const reopened = new Database(file);
      expect(reopened.pragma('user_version', { simple: true })).toBe(schemaVersion);
      expect(reopened.prepare('SELECT width, height FROM image_facts').get()).toEqual({ width: 10, height: 12 });
      reopened.close();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('moves kept -> pending -> accepted once; expires only kept records older than asked', () => {
    const records = openDatasetRecords(':memory:');
    try {
      const store = records.feedback;
      const [a, b] = [newPredictionId(), newPredictionId()];
      store.insert(record(a, '2024-01-01T00:00:00.000Z'));
      store.insert(record(b, '2024-01-01T00:00:00.000Z'));
      expect(store.review(a, 'accepted', 'now', 'train/benign/x.png')).toBe(false);
      expect(store.submit(a, 'malignant', '2024-01-02T00:00:00.000Z')).toBe(true);
      expect(store.count('pending')).toBe(1);
      expect(store.review(a, 'accepted', '2024-01-03T00:00:00.000Z', 'train/malignant/x.png')).toBe(true);
      expect(store.review(a, 'rejected', '2024-01-03T00:00:00.000Z', null)).toBe(false);
      expect(store.submit(a, 'benign', 'later')).toBe(false);
      expect(store.get(a)).toMatchObject({ status: 'accepted', trueLabel: 'malignant', imageFile: null, datasetImageId: 'train/malignant/x.png' });

      expect(store.keptBefore('2023-12-31T00:00:00.000Z')).toEqual([]);
      expect(store.keptBefore('2024-01-02T00:00:00.000Z').map((r) => r.id)).toEqual([b]);
      expect(store.expire(b)).toBe(true);
      expect(store.expire(b)).toBe(false);
      expect(store.list({ status: 'expired', limit: 10 }).map((r) => r.id)).toEqual([b]);
    } finally {
      records.close();
    }
  });
});
