// What the chosen tfjs backend is, in plain data: reported by the API and the logs without
// loading tfjs in the thread that reports it.
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** Threads the backend computes with. */
  threads: number;
  simd: boolean;
  /** Why a preferred backend was not used, for the logs and the API. */
  fallbackReason?: string;
}

export interface BackendOptions {
  /** `auto` tries tensorflow, then wasm. `cpu` is never chosen automatically. */
  preferred?: BackendName | 'auto';
  threads?: number;
}

export function describeBackend(info: BackendInfo): string {
  const simd = info.name === 'wasm' ? (info.simd ? ', SIMD' : ', no SIMD') : '';
  const why = info.fallbackReason ? ` (${info.fallbackReason})` : '';
  return `${info.name}, ${info.threads} thread${info.threads === 1 ? '' : 's'}${simd}${why}`;
}
