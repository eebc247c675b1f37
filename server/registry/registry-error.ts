// Failures of the model registry that callers act on (API error codes, CLI messages).

export type RegistryErrorCode =
  /** No version folder of that name. */
  | 'MODEL_NOT_FOUND'
  /** The folder exists but its files are missing, unparsable, truncated or fail the checksum. */
  | 'DAMAGED_MODEL'
  /** The active version cannot be deleted. */
  | 'MODEL_ACTIVE'
  /** Rollback found no earlier version that is still intact. */
  | 'NO_ROLLBACK_TARGET'
  /** Writing a new version failed (disk full, folder read-only, ...); nothing was published. */
  | 'SAVE_FAILED';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}
