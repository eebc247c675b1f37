// GraphQL documents and variables built to exhaust the server: nesting thousands deep, thousands
// of fields or aliases, huge and deeply nested variables, oversized WebSocket messages. Each is
// refused with a code, the answer stays small, and the server keeps answering.
// (tests/api/limits.test.ts checks the limits at their edges; this file goes far past them.)
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, codes, startTestApp, subscribe, tempDir, wsClient, type GraphQLResponse, type TestApp } from '../api/helpers.js';

const MAX_JSON_BYTES = 256 * 1024;

let root: string;
let app: TestApp;

beforeAll(async () => {
  root = await tempDir('graphql-abuse-');
  await fs.mkdir(path.join(root, 'data'));
  app = await startTestApp({
    dataDir: path.join(root, 'data'),
    modelsDir: path.join(root, 'models'),
    storeFile: path.join(root, 'runs.sqlite'),
    env: { ADMIN_TOKEN, MAX_JSON_BYTES: String(MAX_JSON_BYTES) },
  });
  await app.modelLoaded;
});

afterAll(async () => {
  await app?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** Sends a body as it is (so it can be any text) and keeps the raw size of the answer. */
async function post(body: string, token?: string): Promise<GraphQLResponse & { bytes: number }> {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await response.text();
  return { status: response.status, bytes: text.length, ...(JSON.parse(text) as object) };
}

const request = (query: string, variables: unknown = {}, token?: string) => post(JSON.stringify({ query, variables }), token);

async function expectStillAnswering(): Promise<void> {
  const response = await request('{ modelStatus { ready reason } }');
  expect(response.errors).toBeUndefined();
  expect(response.data!.modelStatus.ready).toBe(false);
}

const selectionNest = (levels: number) => `{ __schema { types { fields { type { ${'ofType { '.repeat(levels)}name${' }'.repeat(levels)} } } } } }`;

describe('nesting', () => {
  it.each([
    ['fields', (n: number) => selectionNest(n)],
    ['list values', (n: number) => `{ trainingRuns(limit: ${'['.repeat(n)}1${']'.repeat(n)}) { id } }`],
    ['input objects', (n: number) => `mutation { startTraining(input: ${'{ epochs: 1, x: '.repeat(n)}1${' }'.repeat(n)}) { id } }`],
  ])('refuses %s nested 100, 3000 and 10000 levels deep with QUERY_TOO_DEEP', async (_what, build) => {
    for (const levels of [100, 3000, 10_000]) {
      const response = await request(build(levels), {}, ADMIN_TOKEN);
      expect(response.status, `${levels} levels`).toBe(400);
      expect(codes(response), `${levels} levels`).toEqual(['QUERY_TOO_DEEP']);
    }
    await expectStillAnswering();
  });

  it('refuses the same over WebSocket without dropping the connection', async () => {
    const client = wsClient(app.wsUrl);
    try {
      for (const levels of [3000, 10_000]) {
        const deep = subscribe(client, selectionNest(levels));
        await deep.ended;
        expect(deep.errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_DEEP']);
      }
      // The same connection still answers.
      const status = subscribe<{ modelStatus: { ready: boolean } }>(client, '{ modelStatus { ready } }');
      await status.ended;
      expect(status.errors).toEqual([]);
      expect(status.events).toEqual([{ modelStatus: { ready: false } }]);
    } finally {
      await client.dispose();
    }
  });
});

describe('width', () => {
  it('refuses one field repeated 20000 times with QUERY_TOO_COMPLEX', async () => {
    const response = await request(`{ modelStatus { ${'ready '.repeat(20_000)}} }`);
    expect(codes(response)).toContain('QUERY_TOO_COMPLEX');
    await expectStillAnswering();
  });

  it('refuses 9000 aliases with QUERY_TOO_COMPLEX', async () => {
    const document = `{ ${Array.from({ length: 9000 }, (_, i) => `a${i}: modelStatus { ready }`).join(' ')} }`;
    expect(document.length).toBeLessThan(MAX_JSON_BYTES);
    const response = await request(document);
    expect(codes(response)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(response.bytes).toBeLessThan(2000);
    await expectStillAnswering();
  });

  it('refuses 500 aliased training starts before any of them runs', async () => {
    const document = `mutation { ${Array.from({ length: 500 }, (_, i) => `t${i}: startTraining(input: { epochs: 1 }) { id }`).join(' ')} }`;
    const response = await request(document, {}, ADMIN_TOKEN);
    expect(codes(response)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(app.services.runs.list()).toEqual([]);
  });

  it('answers a directive repeated 10000 times with a bounded list of validation errors', async () => {
    const response = await request(`{ modelStatus { ready ${'@include(if: true) '.repeat(10_000)}} }`);
    expect(response.status).toBe(400);
    expect(new Set(codes(response))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect(response.errors!.length).toBeLessThanOrEqual(101);
    await expectStillAnswering();
  });

  it('refuses 3000 operations in one document without an operation name, and batched requests', async () => {
    const many = await request(Array.from({ length: 3000 }, (_, i) => `query Q${i} { modelStatus { ready } }`).join('\n'));
    expect(many.status).toBe(400);
    expect(codes(many)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
    const batch = await post(JSON.stringify(Array.from({ length: 500 }, () => ({ query: '{ modelStatus { ready } }' }))));
    expect(batch.status).toBe(400);
    expect(codes(batch)).toEqual(['BAD_REQUEST']);
  });
});

describe('variables', () => {
  it('refuses a body over MAX_JSON_BYTES with PAYLOAD_TOO_LARGE without parsing it', async () => {
    const response = await request('query ($v: String!) { model(version: $v) { version } }', { v: 'x'.repeat(4 * MAX_JSON_BYTES) });
    expect(response.status).toBe(413);
    expect(codes(response)).toEqual(['PAYLOAD_TOO_LARGE']);
  });

  it('answers a 250 kB string variable as an unknown model version', async () => {
    const response = await request('query ($v: String!) { model(version: $v) { version } }', { v: 'x'.repeat(250_000) });
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ model: null });
  });

  it('refuses a variable nested 100000 lists deep with BAD_USER_INPUT', async () => {
    // JSON.stringify recurses, so the body is written by hand.
    const body = `{"query":"query ($l: Int!) { trainingRuns(limit: $l) { id } }","variables":{"l":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.bytes).toBeLessThan(2000);
  });

  it('answers 40000 bad list items with a bounded number of errors', async () => {
    const response = await request('mutation ($i: [Upload!]!) { classifyBatch(images: $i) { index } }', { i: Array(40_000).fill(1) });
    expect(response.status).toBe(400);
    expect(new Set(codes(response))).toEqual(new Set(['BAD_USER_INPUT']));
    expect(response.errors!.length).toBeLessThanOrEqual(51);
  });

  it('keeps the answer small when an input object has 10000 unknown fields', async () => {
    const input = Object.fromEntries(Array.from({ length: 10_000 }, (_, k) => [`f${k}`, k]));
    const response = await request('mutation ($i: TrainingInput) { startTraining(input: $i) { id } }', { i: input }, ADMIN_TOKEN);
    expect(response.status).toBe(400);
    expect(new Set(codes(response))).toEqual(new Set(['BAD_USER_INPUT']));
    // Each error quotes the input; uncapped, the answer was 6 MB for a 128 kB request.
    expect(response.bytes).toBeLessThan(100_000);
    for (const error of response.errors!) expect(error.message.length).toBeLessThanOrEqual(1100);
    expect(app.services.runs.list()).toEqual([]);
    await expectStillAnswering();
  });
});

describe('WebSocket messages', () => {
  it('closes a connection that sends a message over MAX_JSON_BYTES, and keeps serving others', async () => {
    const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('x'.repeat(MAX_JSON_BYTES + 1));
    expect(await closed).toBe(1009); // message too big
    await expectStillAnswering();
  });
});
