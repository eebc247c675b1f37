// Every setting in one typed place: environment variables with defaults.
import path from 'node:path';
import type { BackendName } from './ml/backend.js';
import { screeningViewModes, type ScreeningSettings, type ScreeningViews } from './ml/screening-rules.js';
import { repoRoot } from './paths.js';
import { defaultBatchingOptions } from './services/classify-batcher.js';

export interface Config {
  datasetsDir: string;
  modelsDir: string;
  backend: BackendName | 'auto';
  /** Threads for the WASM backend (used where the platform allows WASM threads). */
  threads?: number;
  /** Largest decoded image, in pixels: protects against decompression bombs. */
  maxImagePixels: number;
  /** Smallest accepted image side. */
  minImageSide: number;
  /** SQLite file holding training runs and their epoch history. */
  storeFile: string;
  /** Keep each classified image (re-encoded, without metadata) so its user can correct the result for review. */
  keepClassifiedImages: boolean;
  /** Where kept images wait for review (private; never served as a folder). */
  feedbackDir: string;
  /** Kept images nobody corrected within this many hours are deleted. */
  keptImageHours: number;
  /** Dataset images whose 64-bit perceptual hashes differ in at most this many bits count as near-duplicates. */
  nearDuplicateDistance: number;
  /** Most files one dataset archive (zip) or folder import may hold. */
  maxArchiveFiles: number;
  /** Built dashboard served at `/` when present. */
  dashboardDir: string;
  port: number;
  host: string;
  /** Bearer token for training and model management; unset means those operations are refused. */
  adminToken?: string;
  /** Bearer token required to classify; unset means classification is open. */
  classifyToken?: string;
  /** Largest uploaded file; a bigger one is refused with PAYLOAD_TOO_LARGE, never truncated. */
  maxUploadBytes: number;
  /** Most files in one request (and images in one classifyBatch). */
  maxFiles: number;
  /** Largest JSON request body. */
  maxJsonBytes: number;
  /** Deepest selection nesting a query may have. */
  maxQueryDepth: number;
  /** Most fields (and fragment spreads) a query may select, counted after expanding fragments. */
  maxQueryFields: number;
  /** Most aliased fields in one query (aliases multiply work such as classification). */
  maxQueryAliases: number;
  /** Concurrent classify requests share forward passes of at most this many images... */
  classifyMaxBatch: number;
  /** ...waiting at most this long for others to join. */
  classifyMaxDelayMs: number;
  /** Classifications in progress at once; more are refused with OVERLOADED rather than queued. */
  classifyMaxPending: number;
  /** A prediction whose interval over test-time views is wider than this is banded "uncertain - refer". */
  uncertainMaxSpread: number;
  /** `all`: score the eight flips and turns of each image, for the interval; `single`: once, ~8x less compute. */
  screeningViews: ScreeningViews;
  /** Train a first model at start-up when none is active and training images exist. */
  autoTrain: boolean;
  /** Hide unexpected error details from clients (they are still logged). */
  production: boolean;
  /** Origins whose browser pages may call /graphql ('*' for any); empty keeps cross-origin access closed. */
  corsOrigins: string[];
  /**
   * Redis (redis://host:port/db) for running several API replicas and trainer workers: training
   * jobs go through a queue, events through Redis pub/sub. Unset: one process does everything.
   */
  redisUrl?: string;
  /** A trainer worker silent for this long is taken for dead and its run marked failed (Redis mode). */
  trainingLockMs: number;
}

function redisUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['redis:', 'rediss:'].includes(parsed.protocol)) throw new Error(`REDIS_URL must look like redis://host:6379/0, got "${value}"`);
  return value;
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

function nonNegativeInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got "${value}"`);
  return n;
}

function fraction(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${name} must be a number from 0 to 1, got "${value}"`);
  return n;
}

function flag(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  const v = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`${name} must be true or false, got "${value}"`);
}

// A short token can be guessed; refuse to start rather than run with one.
const MIN_TOKEN_LENGTH = 16;

function token(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length < MIN_TOKEN_LENGTH) throw new Error(`${name} must be at least ${MIN_TOKEN_LENGTH} characters long`);
  return value;
}

function origins(name: string, value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  const list = value.split(',').map((o) => o.trim()).filter((o) => o !== '');
  for (const origin of list) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new Error(`${name} must list origins such as https://screening.example.org (scheme, host and port only) or *, got "${origin}"`);
    }
  }
  return list;
}

function screeningViews(value: string | undefined): ScreeningViews {
  const v = (value ?? 'all').toLowerCase();
  const mode = screeningViewModes.find((m) => m === v);
  if (mode) return mode;
  throw new Error(`SCREENING_VIEWS must be ${screeningViewModes.join(' or ')}, got "${value}"`);
}

/** What the screening steps need from the configuration, wherever they run. */
export function screeningSettings(config: Config): Pick<ScreeningSettings, 'views' | 'maxSpread'> {
  return { views: config.screeningViews, maxSpread: config.uncertainMaxSpread };
}

function backendName(value: string | undefined): Config['backend'] {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'tensorflow' || v === 'wasm' || v === 'cpu') return v;
  throw new Error(`TF_BACKEND must be auto, tensorflow, wasm or cpu, got "${value}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fromRoot = (p: string | undefined, fallback: string) => path.resolve(repoRoot, p ?? fallback);
  return {
    datasetsDir: fromRoot(env.DATASETS_DIR, 'datasets'),
    modelsDir: fromRoot(env.MODELS_DIR, 'models'),
    backend: backendName(env.TF_BACKEND),
    threads: positiveInt('TF_THREADS', env.TF_THREADS),
    maxImagePixels: positiveInt('MAX_IMAGE_PIXELS', env.MAX_IMAGE_PIXELS) ?? 50_000_000,
    minImageSide: positiveInt('MIN_IMAGE_SIDE', env.MIN_IMAGE_SIDE) ?? 32,
    storeFile: fromRoot(env.STORE_FILE, 'data/runs.sqlite'),
    keepClassifiedImages: flag('KEEP_CLASSIFIED_IMAGES', env.KEEP_CLASSIFIED_IMAGES, false),
    feedbackDir: fromRoot(env.FEEDBACK_DIR, 'data/feedback'),
    keptImageHours: positiveInt('KEPT_IMAGE_HOURS', env.KEPT_IMAGE_HOURS) ?? 72,
    nearDuplicateDistance: Math.min(64, nonNegativeInt('NEAR_DUPLICATE_DISTANCE', env.NEAR_DUPLICATE_DISTANCE) ?? 4),
    maxArchiveFiles: positiveInt('MAX_ARCHIVE_FILES', env.MAX_ARCHIVE_FILES) ?? 10_000,
    dashboardDir: fromRoot(env.DASHBOARD_DIR, 'dashboard/dist'),
    // 0 asks the system for a free port (tests).
    port: nonNegativeInt('PORT', env.PORT) ?? 4000,
    host: env.HOST || '0.0.0.0',
    adminToken: token('ADMIN_TOKEN', env.ADMIN_TOKEN),
    classifyToken: token('CLASSIFY_TOKEN', env.CLASSIFY_TOKEN),
    maxUploadBytes: positiveInt('MAX_UPLOAD_BYTES', env.MAX_UPLOAD_BYTES) ?? 10 * 1024 * 1024,
    maxFiles: positiveInt('MAX_FILES', env.MAX_FILES) ?? 16,
    maxJsonBytes: positiveInt('MAX_JSON_BYTES', env.MAX_JSON_BYTES) ?? 256 * 1024,
    maxQueryDepth: positiveInt('MAX_QUERY_DEPTH', env.MAX_QUERY_DEPTH) ?? 15,
    maxQueryFields: positiveInt('MAX_QUERY_FIELDS', env.MAX_QUERY_FIELDS) ?? 1000,
    maxQueryAliases: nonNegativeInt('MAX_QUERY_ALIASES', env.MAX_QUERY_ALIASES) ?? 20,
    classifyMaxBatch: positiveInt('CLASSIFY_MAX_BATCH', env.CLASSIFY_MAX_BATCH) ?? defaultBatchingOptions.maxBatch,
    classifyMaxDelayMs: nonNegativeInt('CLASSIFY_MAX_DELAY_MS', env.CLASSIFY_MAX_DELAY_MS) ?? 3,
    classifyMaxPending: positiveInt('CLASSIFY_MAX_PENDING', env.CLASSIFY_MAX_PENDING) ?? 64,
    uncertainMaxSpread: fraction('UNCERTAIN_MAX_SPREAD', env.UNCERTAIN_MAX_SPREAD) ?? 0.3,
    screeningViews: screeningViews(env.SCREENING_VIEWS),
    autoTrain: flag('AUTO_TRAIN', env.AUTO_TRAIN, true),
    production: env.NODE_ENV === 'production',
    corsOrigins: origins('CORS_ORIGINS', env.CORS_ORIGINS),
    redisUrl: redisUrl(env.REDIS_URL),
    trainingLockMs: positiveInt('TRAINING_LOCK_MS', env.TRAINING_LOCK_MS) ?? 30_000,
  };
}
