// Decoded facts of dataset images by content hash, kept in the store's SQLite file so a restart
// does not decode every image again. Looked up through a memory map first.
import type Database from 'better-sqlite3';
import type { ImageFacts, ImageFactsCache } from '../dataset/image-facts.js';
import { translateDamage } from './database.js';

interface FactsRow {
  width: number | null;
  height: number | null;
  format: string | null;
  perceptual_hash: string | null;
  problem: string | null;
}

export class ImageFactsStore implements ImageFactsCache {
  private readonly memory = new Map<string, ImageFacts>();
  private readonly select;
  private readonly upsert;

  constructor(db: Database.Database) {
    this.select = db.prepare<[string], FactsRow>('SELECT width, height, format, perceptual_hash, problem FROM image_facts WHERE content_hash = ?');
    this.upsert = db.prepare<[{ hash: string } & FactsRow]>(
      `INSERT OR REPLACE INTO image_facts (content_hash, width, height, format, perceptual_hash, problem)
       VALUES (@hash, @width, @height, @format, @perceptual_hash, @problem)`,
    );
  }

  get(contentHash: string): ImageFacts | undefined {
    const known = this.memory.get(contentHash);
    if (known) return known;
    const row = translateDamage(() => this.select.get(contentHash));
    if (!row) return undefined;
    const facts = { width: row.width, height: row.height, format: row.format, perceptualHash: row.perceptual_hash, problem: row.problem };
    this.memory.set(contentHash, facts);
    return facts;
  }

  put(contentHash: string, facts: ImageFacts): void {
    this.memory.set(contentHash, facts);
    translateDamage(() =>
      this.upsert.run({ hash: contentHash, width: facts.width, height: facts.height, format: facts.format, perceptual_hash: facts.perceptualHash, problem: facts.problem }),
    );
  }
}
