// GraphQL multipart requests (file uploads): CSRF check first, then the parser with the
// configured limits; parser failures become coded GraphQL errors.
import type { RequestHandler } from 'express';
import { processRequest } from 'graphql-upload-minimal';
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
    processRequest(req, res, { maxFileSize: limits.maxUploadBytes + 1, maxFiles: limits.maxFiles, maxFieldSize: limits.maxFieldBytes }).then(
      (body) => {
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

function drain(req: Parameters<RequestHandler>[0]): void {
  if (req.readableEnded) return;
  req.unpipe();
  req.resume();
}
