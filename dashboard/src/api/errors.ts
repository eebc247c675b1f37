// Turns API errors into what the user needs to read: a short title, the server's own message,
// and the error code for reference.
import type { CombinedError } from '@urql/core';

export interface ApiProblem {
  code: string;
  reason: string | null;
  title: string;
  /** The server's own explanation. */
  message: string;
  /** What the user can do about it, when there is something. */
  hint: string | null;
}

const TITLES: Record<string, string> = {
  UNAUTHENTICATED: 'Admin token needed',
  FORBIDDEN: 'Not allowed with this token',
  MODEL_NOT_READY: 'No model is serving yet',
  UNSUITABLE_IMAGE: 'Not suitable for screening',
  TRAINING_IN_PROGRESS: 'A training run is already in progress',
  PAYLOAD_TOO_LARGE: 'File too large',
  TOO_MANY_FILES: 'Too many files',
  MODEL_ACTIVE: 'The active version cannot be deleted',
  MODEL_NOT_FOUND: 'Version not found',
  DAMAGED_MODEL: 'This version is damaged',
  NO_ROLLBACK_TARGET: 'Nothing to roll back to',
  RUN_NOT_FOUND: 'Training run not found',
  RUN_FINISHED: 'The training run has already finished',
  NETWORK_ERROR: 'The server could not be reached',
  IMAGE_NOT_FOUND: 'Image not found',
  IMAGE_EXISTS: 'An image of that name is already there',
  PREDICTION_NOT_FOUND: 'This prediction was not kept',
  FEEDBACK_NOT_PENDING: 'Already reviewed',
  NO_DATASET_MANIFEST: 'No record of the images trained on',
  INTERNAL_SERVER_ERROR: 'The server failed',
};

const REASON_TITLES: Record<string, string> = {
  EMPTY_FILE: 'Empty file',
  NOT_AN_IMAGE: 'Not an image',
  UNSUPPORTED_FORMAT: 'Unsupported image format',
  TRUNCATED_IMAGE: 'Damaged or incomplete image',
  IMAGE_TOO_LARGE: 'Image too large',
  IMAGE_TOO_SMALL: 'Image too small',
  LOW_RESOLUTION: 'Resolution too low to judge',
  BLURRY: 'Too blurred to judge',
  NOISY: 'Too noisy or textured to judge',
  OVEREXPOSED: 'Over-exposed photo',
  UNDEREXPOSED: 'Under-exposed photo',
  NOT_A_LESION: 'Does not look like a skin-lesion photo',
  BAD_TRAINING_INPUT: 'Check the training settings',
  BAD_LABEL: 'Unusable class name',
  TOO_MANY_CLASSES: 'Training needs exactly two classes',
  BAD_ARCHIVE: 'Unusable zip archive',
  BAD_IMAGE_ID: 'Unknown image',
};

const HINTS: Record<string, string> = {
  UNAUTHENTICATED: 'Enter the admin token in the page header ("Admin token"), then try again.',
  MODEL_NOT_READY: 'Train a model on the Training page, or promote a saved version on the Models page.',
  UNSUITABLE_IMAGE: 'No probability was given for it. Retake the photo: the lesion close up (ideally through a dermoscope), in focus and evenly lit.',
  TRAINING_IN_PROGRESS: 'Wait for it to finish or cancel it on the Training page.',
  MODEL_ACTIVE: 'Promote another version first.',
};

export function problemFromCode(code: string, message: string, reason: string | null = null): ApiProblem {
  let hint = HINTS[code] ?? null;
  if (code === 'UNAUTHENTICATED' && /not valid/i.test(message)) hint = 'The admin token was not accepted: check it and enter it again in the page header.';
  return {
    code,
    reason,
    title: (reason && REASON_TITLES[reason]) || TITLES[code] || 'The request failed',
    message,
    hint,
  };
}

function capitalise(text: string): string {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

export function describeApiError(error: CombinedError | undefined | null): ApiProblem | null {
  if (!error) return null;
  const first = error.graphQLErrors[0];
  if (first) {
    const code = typeof first.extensions?.code === 'string' ? first.extensions.code : 'INTERNAL_SERVER_ERROR';
    const reason = typeof first.extensions?.reason === 'string' ? first.extensions.reason : null;
    return problemFromCode(code, capitalise(first.message), reason);
  }
  const detail = error.networkError?.message ?? error.message;
  return { ...problemFromCode('NETWORK_ERROR', detail), hint: 'Check that the service is running, then try again.' };
}
