// GraphQL multipart requests (file uploads): CSRF check first, then the parser with the
// configured limits; parser failures become coded GraphQL errors.
import type { RequestHandler } from 'express';
import { processRequest, Upload } from 'graphql-upload-minimal';
import { uploadFailure } from '../graphql/uploads.js';
import { sendGraphQLError } from './http-errors.js';

export interface UploadLimits {
  maxUploadBytes: number;
  maxFiles: number;
  /** Largest `operations` / `map` field. */
  maxFieldBytes: number;
}

// The headers Apollo's CSRF prevention accepts: a browser cannot send them cross-site without a preflight.
const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'];

export function uploadMiddleware(limits: UploadLimits, onRefused: (code: string) => void): RequestHandler {
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) return next();

    // Apollo would refuse this request too, but only after the files were parsed.
    if (!PREFLIGHT_HEADERS.some((name) => (req.get(name) ?? '') !== '')) {
      onRefused('BAD_REQUEST');
      drain(req);
      return sendGraphQLError(
        res,
        400,
        'BAD_REQUEST',
        'multipart requests must carry the header "apollo-require-preflight: true" (or x-apollo-operation-name): it protects against cross-site request forgery',
      );
    }

    // A body larger than every allowed file together cannot succeed: refuse it without reading it.
    const declared = Number(req.get('content-length'));
    const ceiling = limits.maxFiles * limits.maxUploadBytes + 2 * limits.maxFieldBytes + 64 * 1024;
    if (Number.isFinite(declared) && declared > ceiling) {
      onRefused('PAYLOAD_TOO_LARGE');
      res.set('Connection', 'close');
      return sendGraphQLError(res, 413, 'PAYLOAD_TOO_LARGE', `the request body (${declared} bytes) is larger than ${limits.maxFiles} files of at most ${limits.maxUploadBytes} bytes`);
    }

    // Files a resolver never read (e.g. auth refused) would otherwise hold the connection open.
    res.once('finish', () => drain(req));

    // busboy flags a file as cut off as soon as it reaches its limit, so one byte more lets a file
    // of exactly maxUploadBytes through; readUpload refuses anything longer.
    keepParserErrorsHandled(req);
    processRequest(req, res, { maxFileSize: limits.maxUploadBytes + 1, maxFiles: limits.maxFiles, maxFieldSize: limits.maxFieldBytes }).then(
      (body) => {
        codeUploadFailures(body, limits.maxUploadBytes);
        req.body = body;
        next();
      },
      (error: { status?: number; message?: string }) => {
        const message = error.message ?? String(error);
        drain(req);
        // The parser reports too many files and an oversized field both as 413; only its message tells them apart.
        if (error.status === 413 && /max file uploads exceeded/i.test(message)) {
          onRefused('TOO_MANY_FILES');
          return sendGraphQLError(res, 413, 'TOO_MANY_FILES', `at most ${limits.maxFiles} files per request`, { maxFiles: limits.maxFiles });
        }
        if (error.status === 413) {
          onRefused('PAYLOAD_TOO_LARGE');
          return sendGraphQLError(res, 413, 'PAYLOAD_TOO_LARGE', message);
        }
        onRefused('BAD_REQUEST');
        sendGraphQLError(res, 400, 'BAD_REQUEST', message);
      },
    );
  };
}

/**
 * graphql-upload-minimal listens for its busboy parser's first 'error' only (`once`). After a
 * malformed part (e.g. a file name longer than busboy's header limit) the parser emits a second
 * error while being destroyed, and an 'error' event nobody listens to ends the whole process.
 * A lasting listener on whatever the request is piped into makes that second error harmless;
 * the first one still fails the request as before.
 */
function keepParserErrorsHandled(req: Parameters<RequestHandler>[0]): void {
  const pipe = req.pipe;
  req.pipe = function pipeWithErrorListener<T extends NodeJS.WritableStream>(this: typeof req, destination: T, options?: { end?: boolean }): T {
    destination.on('error', () => undefined);
    return pipe.call(this, destination, options) as T;
  };
}

/**
 * An upload whose part never arrives or breaks off (missing file, request cut short) rejects its
 * promise with a parser error, and type-graphql awaits upload arguments before the resolver runs,
 * so that error would surface as INTERNAL_SERVER_ERROR. Each upload's promise is given the coded
 * error instead (BAD_REQUEST, or PAYLOAD_TOO_LARGE).
 */
function codeUploadFailures(operations: unknown, maxUploadBytes: number): void {
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (value instanceof Upload) {
      const coded = value.promise.catch((error: unknown) => {
        throw uploadFailure(error, maxUploadBytes, null);
      });
      // Unread uploads (e.g. a request refused by auth) must not become unhandled rejections.
      coded.catch(() => undefined);
      value.promise = coded;
      return;
    }
    for (const child of Object.values(value)) visit(child);
  };
  visit(operations);
}

function drain(req: Parameters<RequestHandler>[0]): void {
  if (req.readableEnded) return;
  req.unpipe();
  req.resume();
}
