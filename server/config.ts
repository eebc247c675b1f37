// Every setting in one typed place: environment variables with defaults.
import path from 'node:path';
import type { BackendName } from './ml/backend.js';
import { repoRoot } from './paths.js';

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
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
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
  };
}
