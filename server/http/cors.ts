// Cross-origin access to /graphql: closed unless CORS_ORIGINS names the origins allowed to call
// it from a browser. Without an Access-Control-Allow-Origin header a browser on another site can
// neither read answers nor send the JSON or preflighted multipart requests the API needs.
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { sendGraphQLError } from './http-errors.js';

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
// What the dashboard and GraphQL clients send: bearer tokens, JSON, and the CSRF preflight headers.
const ALLOWED_HEADERS = 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

/** `origins` as CORS_ORIGINS gives them: exact origins (scheme://host[:port]) or '*' for any. */
export function corsMiddleware(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (!origin) return next();
    res.vary('Origin');
    const permitted = any || allowed.has(origin);
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!permitted) {
      if (!preflight) return next();
      return sendGraphQLError(res, 403, 'FORBIDDEN', `cross-origin requests from ${origin} are not allowed; the server's CORS_ORIGINS setting lists the allowed origins`);
    }
    // Tokens travel in the Authorization header, never in cookies: no Allow-Credentials.
    res.set('Access-Control-Allow-Origin', any ? '*' : origin);
    if (!preflight) return next();
    res.set({
      'Access-Control-Allow-Methods': ALLOWED_METHODS,
      'Access-Control-Allow-Headers': ALLOWED_HEADERS,
      'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_SECONDS,
    });
    res.status(204).end();
  };
}


/**
 * The same rule for WebSocket upgrades, which browsers send from any page without CORS: a page
 * on another site may not open a subscription unless CORS_ORIGINS allows its origin. Requests
 * without an Origin (non-browser clients) and from the server's own origin (the dashboard) pass.
 */
export function websocketOriginAllowed(origins: readonly string[]): (origin: string | undefined, req: IncomingMessage) => boolean {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (origin, req) => {
    if (!origin || any || allowed.has(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };
}
