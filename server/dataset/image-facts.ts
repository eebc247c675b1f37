// What the dataset summary needs to know about each image, remembered by content hash so a
// picture is decoded once, however often it is listed, moved or relabelled.

export interface ImageFacts {
  width: number | null;
  height: number | null;
  format: string | null;
  /** 16 hex digits; null when the file cannot be decoded. */
  perceptualHash: string | null;
  /** Why the file cannot be used for training; null when it can. */
  problem: string | null;
}

export interface ImageFactsCache {
  get(contentHash: string): ImageFacts | undefined;
  put(contentHash: string, facts: ImageFacts): void;
}

/** A cache that lives as long as the process (the SQLite one in server/store survives restarts). */
export function memoryFactsCache(): ImageFactsCache {
  const facts = new Map<string, ImageFacts>();
  return { get: (hash) => facts.get(hash), put: (hash, value) => void facts.set(hash, value) };
}
