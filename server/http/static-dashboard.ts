// The built dashboard at `/`, with index.html for client-side routes; a plain note when it is not built.
import fs from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';

/** Paths the server itself answers: never shadowed by the SPA fallback. */
const SERVER_PATHS = ['/graphql', '/healthz', '/readyz', '/metrics'];

export function dashboardRouter(dashboardDir: string): Router {
  const router = express.Router();
  const indexFile = path.join(dashboardDir, 'index.html');
  router.use(express.static(dashboardDir, { index: 'index.html', fallthrough: true }));
  router.get(/.*/, (req, res, next) => {
    if (SERVER_PATHS.some((p) => req.path === p || req.path.startsWith(`${p}/`))) return next();
    // Checked per request: the dashboard may be built while the server runs.
    if (fs.existsSync(indexFile)) {
      if (!req.accepts('html')) return next();
      return res.sendFile(indexFile);
    }
    if (req.path !== '/') return next();
    res
      .type('text/plain')
      .send(`The dashboard is not built yet. The GraphQL API is at /graphql, health at /healthz and /readyz, metrics at /metrics.\n`);
  });
  return router;
}
