// Images from the public ISIC Archive API (v2) with a benign/malignant diagnosis, as import
// candidates. The search endpoint answers pages of
//   { count, next, previous, results: [{ isic_id, files: { full: { url, size } }, metadata: { clinical: {...} } }] }
// and `next` is the URL of the following page. The label comes from `clinical.benign_malignant`
// (older records) or `clinical.diagnosis_1` ("Benign" / "Malignant"); images with neither, or
// "indeterminate", are reported and skipped.
import type { ImportCandidate } from './dataset-folder.js';

export const ISIC_API_URL = 'https://api.isic-archive.com/api/v2';

export interface IsicOptions {
  /** API root, e.g. https://api.isic-archive.com/api/v2 (tests point it at a local server). */
  baseUrl?: string;
  /** ISIC search syntax, e.g. `image_type:dermoscopic` (empty: every public image). */
  query?: string;
  /** Most images to offer. */
  limit: number;
  maxEntryBytes: number;
  /** Results per page (the API allows at most 100). */
  pageSize?: number;
  fetchImpl?: typeof fetch;
  signal?: AbortSignal;
  /** Per request. */
  timeoutMs?: number;
}

interface IsicImage {
  isic_id?: unknown;
  files?: { full?: { url?: unknown; size?: unknown } };
  urls?: { full?: unknown };
  metadata?: { clinical?: Record<string, unknown> };
}

interface IsicPage {
  count?: unknown;
  next?: unknown;
  results?: unknown;
}

/** 'benign' or 'malignant' from an image's clinical metadata, or null. */
export function isicLabel(clinical: Record<string, unknown> | undefined): 'benign' | 'malignant' | null {
  for (const value of [clinical?.benign_malignant, clinical?.diagnosis_1]) {
    if (typeof value !== 'string') continue;
    const v = value.trim().toLowerCase();
    if (v === 'benign' || v === 'malignant') return v;
  }
  return null;
}

function imageUrl(image: IsicImage): string | null {
  const url = image.files?.full?.url ?? image.urls?.full;
  return typeof url === 'string' ? url : null;
}

export async function* isicCandidates(options: IsicOptions): AsyncGenerator<ImportCandidate> {
  const base = (options.baseUrl ?? ISIC_API_URL).replace(/\/+$/, '');
  const fetchImpl = options.fetchImpl ?? fetch;
  const pageSize = Math.min(100, Math.max(1, options.pageSize ?? Math.min(100, options.limit)));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const request = (url: string) => {
    const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
    return fetchImpl(url, { signal: AbortSignal.any(signals), headers: { accept: 'application/json' }, redirect: 'follow' });
  };

  const first = new URL(`${base}/images/search/`);
  first.searchParams.set('limit', String(pageSize));
  if (options.query) first.searchParams.set('query', options.query);
  let pageUrl: string | null = first.toString();
  let offered = 0;

  while (pageUrl && offered < options.limit) {
    let page: IsicPage;
    try {
      const response = await request(pageUrl);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
      page = (await response.json()) as IsicPage;
      if (!Array.isArray(page.results)) throw new Error('the answer has no results list');
    } catch (error) {
      yield { name: pageUrl, error: { code: 'SOURCE_FAILED', message: `the ISIC search failed: ${(error as Error).message}` } };
      return;
    }
    for (const image of page.results as IsicImage[]) {
      if (offered >= options.limit) return;
      offered++;
      const id = typeof image.isic_id === 'string' ? image.isic_id : `result ${offered}`;
      const label = isicLabel(image.metadata?.clinical);
      const url = imageUrl(image);
      if (!label) {
        yield { name: id, error: { code: 'NO_DIAGNOSIS', message: `${id} has no benign or malignant diagnosis` } };
        continue;
      }
      if (!url) {
        yield { name: id, label, error: { code: 'SOURCE_FAILED', message: `${id} has no image URL` } };
        continue;
      }
      const declared = Number(image.files?.full?.size);
      if (Number.isFinite(declared) && declared > options.maxEntryBytes) {
        yield { name: id, label, error: { code: 'PAYLOAD_TOO_LARGE', message: `${id} is ${declared} bytes, over the limit of ${options.maxEntryBytes}` } };
        continue;
      }
      try {
        const response = await request(url);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const bytes = Buffer.from(await response.arrayBuffer());
        if (bytes.length > options.maxEntryBytes) {
          yield { name: id, label, error: { code: 'PAYLOAD_TOO_LARGE', message: `${id} is ${bytes.length} bytes, over the limit of ${options.maxEntryBytes}` } };
          continue;
        }
        yield { name: id, label, bytes };
      } catch (error) {
        yield { name: id, label, error: { code: 'SOURCE_FAILED', message: `${id} could not be downloaded: ${(error as Error).message}` } };
      }
    }
    // Only pages of the same API: a redirecting `next` must not send the importer elsewhere.
    const next: URL | null = typeof page.next === 'string' ? new URL(page.next, pageUrl) : null;
    pageUrl = next && next.origin === first.origin ? next.toString() : null;
  }
}
