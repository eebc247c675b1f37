// The review queue and the image facts cache, on their own connection to the store's SQLite
// file (WAL lets it share the file with the run store's connection).
import { openDatabase } from './database.js';
import { FeedbackStore } from './feedback-store.js';
import { ImageFactsStore } from './image-facts-store.js';

export interface DatasetRecords {
  feedback: FeedbackStore;
  facts: ImageFactsStore;
  close(): void;
}

export function openDatasetRecords(file: string): DatasetRecords {
  const db = openDatabase(file);
  return {
    feedback: new FeedbackStore(db),
    facts: new ImageFactsStore(db),
    close: () => {
      if (db.open) db.close();
    },
  };
}
