// Response headers that keep browsers from misusing what the server sends: no MIME sniffing, no
// framing (clickjacking), no referrer leaking, and for the dashboard a content security policy
// that lets it load and talk only to this server.
import type { RequestHandler } from 'express';

/**
 * The dashboard is a built Vue app: scripts, styles and fonts come from its own files, image
 * previews are blob: URLs, charts draw on canvas, and GraphQL (HTTP and WebSocket) is same-origin.
 * Nothing inline is needed, so nothing inline is allowed.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** On every response, API and dashboard alike. */
export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.set({
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
    next();
  };
}

/** On the dashboard's pages and files. */
export function dashboardPolicy(): RequestHandler {
  return (_req, res, next) => {
    res.set('Content-Security-Policy', DASHBOARD_CSP);
    next();
  };
}
