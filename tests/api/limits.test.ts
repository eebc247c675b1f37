// Protections and plumbing of the HTTP server, against a real server without a model: query
// depth and complexity limits (HTTP and WebSocket), body size, CSRF, error masking in
// production, the probes and the dashboard hosting.
import fs from 'node:fs/promises';
import path from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, gql, startTestApp, subscribe, tempDir, wsClient, type TestApp } from './helpers.js';

const MAX_JSON_BYTES = 16_384;

let root: string;
let dashboardDir: string;
let app: TestApp;

beforeAll(async () => {
  root = await tempDir('api-limits-');
  dashboardDir = path.join(root, 'dashboard');
  await fs.mkdir(path.join(root, 'data'));
  app = await startTestApp({
    dataDir: path.join(root, 'data'),
    modelsDir: path.join(root, 'models'),
    storeFile: path.join(root, 'runs.sqlite'),
    env: { MAX_JSON_BYTES: String(MAX_JSON_BYTES), DASHBOARD_DIR: dashboardDir },
  });
  await app.modelLoaded;
});

afterAll(async () => {
  await app?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** `{ __schema { types { fields { type { ofType { ... name } } } } } }` with `levels` ofType levels. */
function nestedIntrospection(levels: number): string {
  return `{ __schema { types { fields { type { ${'ofType { '.repeat(levels)}name${' }'.repeat(levels)} } } } } }`;
}

describe('query limits', () => {
  it('lets the standard introspection query through with the default limits', async () => {
    const response = await gql(app.url, getIntrospectionQuery({ descriptions: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data!.__schema.queryType.name).toBe('Query');
  });

  it('refuses a query nested deeper than MAX_QUERY_DEPTH with QUERY_TOO_DEEP', async () => {
    const response = await gql(app.url, nestedIntrospection(20));
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['QUERY_TOO_DEEP']);
    expect((await gql(app.url, nestedIntrospection(6))).errors).toBeUndefined();
  });

  it('refuses too many aliases with QUERY_TOO_COMPLEX', async () => {
    const aliases = Array.from({ length: 21 }, (_, i) => `s${i}: modelStatus { ready }`).join(' ');
    const response = await gql(app.url, `{ ${aliases} }`);
    expect(codes(response)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(response.errors![0].message).toMatch(/aliases/);
    const fewer = Array.from({ length: 20 }, (_, i) => `s${i}: modelStatus { ready }`).join(' ');
    expect((await gql(app.url, `{ ${fewer} }`)).errors).toBeUndefined();
  });

  it('counts fields after expanding fragments: a small document that fans out is refused', async () => {
    // F10 expands to 2^10 copies of F0: about 60 lines of text asking for 3000 fields.
    const fragments = [`fragment F0 on Query { modelStatus { ready reason } }`];
    for (let i = 1; i <= 10; i++) fragments.push(`fragment F${i} on Query { ...F${i - 1} ...F${i - 1} }`);
    const document = `query Bomb { ...F10 } ${fragments.join('\n')}`;
    expect(document.length).toBeLessThan(1000);
    const response = await gql(app.url, document);
    expect(codes(response)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('applies the same limits over WebSocket', async () => {
    const client = wsClient(app.wsUrl);
    try {
      const deep = subscribe(client, nestedIntrospection(20));
      await deep.ended;
      expect(deep.errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_DEEP']);
    } finally {
      await client.dispose();
    }
  });
});

describe('request limits', () => {
  it('refuses a JSON body over MAX_JSON_BYTES with PAYLOAD_TOO_LARGE', async () => {
    const response = await gql(app.url, `query ($pad: String) { modelStatus { ready } }`, { pad: 'x'.repeat(MAX_JSON_BYTES) });
    expect(response.status).toBe(413);
    expect(codes(response)).toEqual(['PAYLOAD_TOO_LARGE']);
  });

  it('refuses a simple cross-site form post (CSRF prevention)', async () => {
    const response = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ modelStatus { ready } }' }) });
    expect(response.status).toBe(400);
    expect(codes({ status: 400, ...((await response.json()) as object) })).toEqual(['BAD_REQUEST']);
  });

  it('refuses a malformed multipart request with BAD_REQUEST', async () => {
    const form = new FormData();
    form.append('operations', '{ not json');
    const response = await fetch(app.url, { method: 'POST', headers: { 'apollo-require-preflight': 'true' }, body: form });
    expect(response.status).toBe(400);
    expect(codes({ status: 400, ...((await response.json()) as object) })).toEqual(['BAD_REQUEST']);
  });

  it('still answers after the refusals', async () => {
    const response = await gql(app.url, '{ modelStatus { ready reason } }');
    expect(response.data!.modelStatus).toEqual({ ready: false, reason: 'no model has been trained yet' });
    const metrics = await (await fetch(`${app.origin}/metrics`)).text();
    expect(metrics).toMatch(/^graphql_requests_refused_total\{code="PAYLOAD_TOO_LARGE"\} 1/m);
  });
});

describe('unexpected errors', () => {
  it('are INTERNAL_SERVER_ERROR; in production the message is hidden and the cause logged', async () => {
    for (const production of [false, true]) {
      const dir = await tempDir('api-errors-');
      const broken = await startTestApp({
        dataDir: dir,
        modelsDir: path.join(dir, 'models'),
        storeFile: path.join(dir, 'runs.sqlite'),
        env: production ? { NODE_ENV: 'production' } : {},
      });
      try {
        // The database going away under a running server: a failure nothing maps to a user error.
        broken.services.runs.close();
        const response = await gql(broken.url, '{ trainingRuns { id } }');
        expect(codes(response)).toEqual(['INTERNAL_SERVER_ERROR']);
        expect(response.errors![0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
        if (production) expect(response.errors![0].message).toBe('Internal server error');
        else expect(response.errors![0].message).toMatch(/database/i);
        expect(broken.logs.some((line) => line.startsWith('error unexpected error at trainingRuns') && /database/i.test(line))).toBe(true);
        // Other fields keep working.
        expect((await gql(broken.url, '{ modelStatus { ready } }')).data!.modelStatus.ready).toBe(false);
      } finally {
        await broken.close();
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('probes and dashboard', () => {
  it('/healthz is up and /readyz is 503 with the reason while no model is loaded', async () => {
    const health = await fetch(`${app.origin}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${app.origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not ready', reason: 'no model has been trained yet' });
  });

  it('says the dashboard is not built, then serves it (with client-side routes) once it is', async () => {
    const before = await fetch(`${app.origin}/`);
    expect(before.status).toBe(200);
    expect(await before.text()).toMatch(/dashboard is not built/);
    expect((await fetch(`${app.origin}/runs/3`)).status).toBe(404);

    await fs.mkdir(path.join(dashboardDir, 'assets'), { recursive: true });
    await fs.writeFile(path.join(dashboardDir, 'index.html'), '<!doctype html><title>dashboard</title><div id="app"></div>');
    await fs.writeFile(path.join(dashboardDir, 'assets', 'app.js'), 'console.log("dashboard")');

    const index = await fetch(`${app.origin}/`);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('<title>dashboard</title>');
    const route = await fetch(`${app.origin}/runs/3`, { headers: { accept: 'text/html' } });
    expect(await route.text()).toContain('<title>dashboard</title>');
    const asset = await fetch(`${app.origin}/assets/app.js`);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${app.origin}/assets/missing.js`, { headers: { accept: 'application/javascript' } })).status).toBe(404);

    // The server's own paths are not shadowed by the fallback.
    expect(await (await fetch(`${app.origin}/healthz`, { headers: { accept: 'text/html' } })).json()).toEqual({ status: 'ok' });
    const viaGet = await fetch(`${app.url}?query=${encodeURIComponent('{ modelStatus { ready } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(await viaGet.json()).toEqual({ data: { modelStatus: { ready: false } } });
  });
});
