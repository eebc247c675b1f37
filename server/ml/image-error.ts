// Why an uploaded or on-disk image cannot be used. Callers map `code` to a user-facing
// answer (an API error, a skipped-file reason) without parsing messages.

export type ImageErrorCode =
  | 'EMPTY_FILE'
  | 'NOT_AN_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'TRUNCATED_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_TOO_SMALL';

export class ImageError extends Error {
  override readonly name = 'ImageError';

  constructor(
    readonly code: ImageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isImageError(error: unknown): error is ImageError {
  return error instanceof ImageError;
}
