// Why a change to the image folder or the review queue was refused. `badInput` codes are the
// caller's mistake (the API reports them as BAD_USER_INPUT with the code as reason); the others
// name a state (not found, already reviewed, switched off) and are reported under their own code.

export type DatasetChangeErrorCode =
  // The caller's input.
  | 'BAD_LABEL'
  | 'BAD_IMAGE_ID'
  | 'BAD_ARCHIVE'
  | 'BAD_CURSOR'
  | 'TOO_MANY_CLASSES'
  // States.
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_EXISTS'
  | 'DUPLICATE_IMAGE'
  | 'PREDICTION_NOT_FOUND'
  | 'FEEDBACK_NOT_PENDING'
  | 'FEEDBACK_DISABLED'
  | 'NO_DATASET_MANIFEST';

const BAD_INPUT: ReadonlySet<DatasetChangeErrorCode> = new Set(['BAD_LABEL', 'BAD_IMAGE_ID', 'BAD_ARCHIVE', 'BAD_CURSOR', 'TOO_MANY_CLASSES']);

export class DatasetChangeError extends Error {
  override readonly name = 'DatasetChangeError';

  constructor(
    readonly code: DatasetChangeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The caller sent something wrong (as opposed to asking for something that is not there). */
  get badInput(): boolean {
    return BAD_INPUT.has(this.code);
  }
}
