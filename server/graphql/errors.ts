// One translation from the layers below to coded GraphQL errors, used for HTTP, WebSocket and
// the per-image errors of a batch.
//
// Codes: ServiceError, RegistryError and DatasetError codes are passed through unchanged
// (MODEL_NOT_READY, TRAINING_IN_PROGRESS, RUN_NOT_FOUND, RUN_FINISHED, MODEL_NOT_FOUND,
// MODEL_ACTIVE, DAMAGED_MODEL, NO_ROLLBACK_TARGET, ...). Bad input is BAD_USER_INPUT with the
// specific problem in `extensions.reason`: the image codes (NOT_AN_IMAGE, TRUNCATED_IMAGE, ...),
// BAD_TRAINING_INPUT and the dataset input codes (BAD_LABEL, BAD_IMAGE_ID, BAD_ARCHIVE, BAD_CURSOR,
// TOO_MANY_CLASSES), so a client can branch on "my input was wrong" without knowing every
// reason. A readable image the input guard refuses is UNSUITABLE_IMAGE with the reason
// (LOW_RESOLUTION, BLURRY, NOISY, OVEREXPOSED, UNDEREXPOSED, NOT_A_LESION). Anything else is
// INTERNAL_SERVER_ERROR; in production its message is hidden (it is logged).
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DatasetChangeError } from '../dataset/dataset-change-error.js';
import { DatasetError } from '../ml/image-folder.js';
import { ImageError } from '../ml/image-error.js';
import { UnsuitableImageError } from '../ml/guard/input-guard.js';
import { RegistryError } from '../registry/registry-error.js';
import { ServiceError } from '../services/service-error.js';
import { StoreError } from '../store/run-store.js';
import type { Logger } from '../http/logger.js';
import { QueryLimitError } from './limits.js';

export interface ErrorDescription {
  code: string;
  reason: string | null;
  message: string;
}

const INTERNAL = 'INTERNAL_SERVER_ERROR';

// graphql-js quotes a refused input object whole in each of up to 50 errors: without a cap, a
// 128 kB request with thousands of unknown input fields came back as 6 MB.
const MAX_MESSAGE_LENGTH = 1000;

function shorten(message: string): string {
  return message.length <= MAX_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_MESSAGE_LENGTH)}... (${message.length - MAX_MESSAGE_LENGTH} more characters)`;
}

/** The coded description of a known error, or null for an unexpected one. */
export function describeError(error: unknown): ErrorDescription | null {
  if (error instanceof ImageError) return { code: 'BAD_USER_INPUT', reason: error.code, message: error.message };
  if (error instanceof UnsuitableImageError) return { code: error.code, reason: error.reason, message: error.message };
  if (error instanceof ServiceError) {
    if (error.code === 'BAD_TRAINING_INPUT') return { code: 'BAD_USER_INPUT', reason: error.code, message: error.message };
    return { code: error.code, reason: null, message: error.message };
  }
  if (error instanceof RegistryError || error instanceof DatasetError) return { code: error.code, reason: null, message: error.message };
  if (error instanceof DatasetChangeError) {
    return error.badInput ? { code: 'BAD_USER_INPUT', reason: error.code, message: error.message } : { code: error.code, reason: null, message: error.message };
  }
  if (error instanceof StoreError && error.code === 'RUN_NOT_FOUND') return { code: error.code, reason: null, message: error.message };
  // graphql-js gives up on variables after 50 bad values with an error that carries no code.
  if (error instanceof GraphQLError && error.message.startsWith('Too many errors processing variables')) {
    return { code: 'BAD_USER_INPUT', reason: null, message: error.message };
  }
  if (error instanceof GraphQLError && typeof error.extensions?.code === 'string' && error.extensions.code !== INTERNAL) {
    const reason = typeof error.extensions.reason === 'string' ? error.extensions.reason : null;
    return { code: error.extensions.code, reason, message: error.message };
  }
  return null;
}

/** The innermost error graphql-js or Apollo wrapped (resolver errors, validation errors). */
function originalOf(error: unknown): unknown {
  let current = error;
  for (let i = 0; i < 5 && current instanceof GraphQLError && current.originalError; i++) current = current.originalError;
  return current;
}

export interface FormatOptions {
  production: boolean;
  log: Logger;
}

/** Apollo `formatError` and the graphql-ws equivalent: every error leaves with a code and a message of bounded length. */
export function formatError(formatted: GraphQLFormattedError, error: unknown, options: FormatOptions): GraphQLFormattedError {
  const result = formatCoded(formatted, error, options);
  return result.message.length > MAX_MESSAGE_LENGTH ? { ...result, message: shorten(result.message) } : result;
}

function formatCoded(formatted: GraphQLFormattedError, error: unknown, options: FormatOptions): GraphQLFormattedError {
  const original = originalOf(error);
  // Apollo re-labels every validation error GRAPHQL_VALIDATION_FAILED; the limit rules' own codes say more.
  if (original instanceof QueryLimitError) {
    return { ...formatted, extensions: { ...stripInternals(formatted.extensions), code: original.code } };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && code !== INTERNAL) return { ...formatted, extensions: stripInternals(formatted.extensions) };

  const known = describeError(original);
  if (known) {
    return {
      ...formatted,
      message: known.message,
      extensions: { code: known.code, ...(known.reason ? { reason: known.reason } : {}) },
    };
  }
  options.log.error(`unexpected error${formatted.path ? ` at ${formatted.path.join('.')}` : ''}`, original);
  if (options.production) return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: INTERNAL } };
  return { ...formatted, extensions: { code: INTERNAL } };
}

function stripInternals(extensions: GraphQLFormattedError['extensions']): Record<string, unknown> {
  const { stacktrace: _stacktrace, http: _http, ...rest } = extensions ?? {};
  return rest;
}
