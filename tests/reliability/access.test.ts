// Who may do what, and what leaks: every admin operation and subscription in the schema refuses a
// missing or wrong token; CORS is closed unless configured; security headers on every response;
// and a real server process never writes a token or an uploaded image anywhere.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import sharp from 'sharp';
import WebSocket from 'ws';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, CLASSIFY_TOKEN, codes, gql, gqlUpload, startTestApp, subscribe, tempDir, trainThroughService, wsClient, type TestApp } from '../api/helpers.js';
import { filesContaining, snapshotTree } from './fs-snapshot.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

let root: string;
let app: TestApp;

beforeAll(async () => {
  root = await tempDir('access-');
  await fs.mkdir(path.join(root, 'dashboard', 'assets'), { recursive: true });
  await fs.writeFile(path.join(root, 'dashboard', 'index.html'), '<!doctype html><title>dashboard</title><div id="app"></div>');
  await fs.writeFile(path.join(root, 'dashboard', 'assets', 'app.js'), 'console.log("dashboard")');
  app = await startTestApp({
    dataDir: path.join(root, 'data'),
    modelsDir: path.join(root, 'models'),
    storeFile: path.join(root, 'runs.sqlite'),
    env: { ADMIN_TOKEN, CLASSIFY_TOKEN, DASHBOARD_DIR: path.join(root, 'dashboard') },
  });
  await app.modelLoaded;
});

afterAll(async () => {
  await app?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

// -- authorisation, for every operation the schema has -------------------------------------------

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface FieldInfo {
  name: string;
  args: { name: string; type: TypeRef; defaultValue: string | null }[];
  type: TypeRef;
}

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';
const named = (type: TypeRef): TypeRef => (type.ofType ? named(type.ofType) : type);

/** A literal for a required argument; null when the type has no literal form (Upload). */
function literalFor(type: TypeRef, enums: Map<string, string[]>): string | null {
  if (type.kind === 'NON_NULL') return literalFor(type.ofType!, enums);
  if (type.kind === 'LIST') {
    const item = literalFor(type.ofType!, enums);
    return item === null ? null : `[${item}]`;
  }
  switch (type.name) {
    case 'ID':
    case 'String':
      return '"v1"';
    case 'Int':
    case 'Float':
      return '1';
    case 'Boolean':
      return 'true';
    case 'Upload':
      return null;
  }
  if (type.kind === 'ENUM') return enums.get(type.name!)![0];
  if (type.kind === 'INPUT_OBJECT') return '{}';
  return null;
}

function typeName(type: TypeRef): string {
  if (type.kind === 'NON_NULL') return `${typeName(type.ofType!)}!`;
  if (type.kind === 'LIST') return `[${typeName(type.ofType!)}]`;
  return type.name!;
}

interface Operation {
  name: string;
  document: string;
  /** Upload arguments, sent as files of a multipart request: variable name -> its type. */
  uploads: Map<string, TypeRef>;
}

async function operations(rootType: 'mutationType' | 'subscriptionType'): Promise<Operation[]> {
  const { data } = await gql(
    app.url,
    `{ __schema { ${rootType} { fields { name type { ${TYPE_REF} } args { name defaultValue type { ${TYPE_REF} } } } } types { kind name enumValues { name } } } }`,
  );
  const enums = new Map<string, string[]>(
    data!.__schema.types.filter((t: { kind: string }) => t.kind === 'ENUM').map((t: { name: string; enumValues: { name: string }[] }) => [t.name, t.enumValues.map((v) => v.name)]),
  );
  const keyword = rootType === 'mutationType' ? 'mutation' : 'subscription';
  return (data!.__schema[rootType].fields as FieldInfo[])
    .map((field) => {
      const uploads = new Map<string, TypeRef>();
      const args = field.args
        .filter((a) => a.type.kind === 'NON_NULL' && a.defaultValue === null)
        .map((a) => {
          const literal = literalFor(a.type, enums);
          if (literal !== null) return `${a.name}: ${literal}`;
          uploads.set(a.name, a.type);
          return `${a.name}: $${a.name}`;
        });
      const variables = [...uploads].map(([name, type]) => `$${name}: ${typeName(type)}`);
      const selection = ['OBJECT', 'INTERFACE', 'UNION'].includes(named(field.type).kind) ? ' { __typename }' : '';
      const head = variables.length ? `${keyword} (${variables.join(', ')})` : keyword;
      return { name: field.name, uploads, document: `${head} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection} }` };
    });
}

/** Runs a mutation, as a multipart request with one small file per Upload argument when it has any. */
function run(operation: Operation, options: { token?: string; headers?: Record<string, string> }) {
  if (operation.uploads.size === 0) return gql(app.url, operation.document, {}, options);
  const variables: Record<string, unknown> = {};
  const files: Record<string, { bytes: Buffer; name: string }> = {};
  for (const [name, type] of operation.uploads) {
    const isList = (type.kind === 'NON_NULL' ? type.ofType! : type).kind === 'LIST';
    variables[name] = isList ? [null] : null;
    files[isList ? `variables.${name}.0` : `variables.${name}`] = { bytes: Buffer.from('not read before the token is checked'), name: 'x.jpg' };
  }
  return gqlUpload(app.url, operation.document, variables, files, options);
}

describe('admin operations', () => {
  // The operations a classify-only token may use; every other mutation needs the admin token.
  const OPEN_TO_CLASSIFY_TOKEN = new Set(['classify', 'classifyBatch', 'submitFeedback']);

  it('every mutation refuses a missing or wrong token, and all but classification refuse the classify token', async () => {
    const mutations = await operations('mutationType');
    expect(mutations.map((m) => m.name)).toEqual(expect.arrayContaining(['classify', 'startTraining', 'cancelTraining', 'promoteModel', 'rollbackModel', 'deleteModel']));
    for (const mutation of mutations) {
      const { name } = mutation;
      expect(codes(await run(mutation, {})), `${name} without a token`).toEqual(['UNAUTHENTICATED']);
      expect(codes(await run(mutation, { token: `${ADMIN_TOKEN.slice(0, -1)}X` })), `${name} with a wrong token`).toEqual(['UNAUTHENTICATED']);
      expect(codes(await run(mutation, { headers: { authorization: ADMIN_TOKEN } })), `${name} with a token but no Bearer scheme`).toEqual(['UNAUTHENTICATED']);
      const withClassifyToken = codes(await run(mutation, { token: CLASSIFY_TOKEN }));
      if (OPEN_TO_CLASSIFY_TOKEN.has(name)) expect(withClassifyToken, `${name} with the classify token`).not.toContain('FORBIDDEN');
      else expect(withClassifyToken, `${name} with the classify token`).toEqual(['FORBIDDEN']);
    }
    expect(app.services.runs.list()).toEqual([]);
  });

  it('every subscription refuses a missing or wrong token over WebSocket', async () => {
    const subscriptions = await operations('subscriptionType');
    expect(subscriptions.map((s) => s.name)).toContain('trainingProgress');
    for (const { name, document } of subscriptions) {
      for (const params of [undefined, { authorization: `Bearer ${ADMIN_TOKEN}x` }, { token: 'x'.repeat(40) }, { authorization: `Bearer ${CLASSIFY_TOKEN}` }]) {
        const client = wsClient(app.wsUrl, params);
        try {
          const sub = subscribe(client, document);
          await sub.ended;
          expect(sub.events, name).toEqual([]);
          expect(sub.errors.map((e) => e.extensions?.code), `${name} with ${JSON.stringify(params)}`).toEqual([params?.authorization?.includes(CLASSIFY_TOKEN) ? 'FORBIDDEN' : 'UNAUTHENTICATED']);
        } finally {
          await client.dispose();
        }
      }
    }
  });
});

// -- CORS ---------------------------------------------------------------------------------------

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
const postFrom = (url: string, origin: string) =>
  fetch(url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ modelStatus { ready } }' }) });

/** 'open', or the HTTP status the upgrade was refused with. */
function webSocketFrom(url: string, origin?: string): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', origin ? { origin } : {});
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
    });
    socket.on('error', (error) => reject(error));
  });
}

describe('CORS', () => {
  it('applies to WebSocket upgrades too: another site\'s page cannot open a subscription', async () => {
    expect(await webSocketFrom(app.wsUrl, 'https://evil.example')).toBe(403);
    expect(await webSocketFrom(app.wsUrl, app.origin)).toBe('open');
    expect(await webSocketFrom(app.wsUrl)).toBe('open');
  });

  it('is closed by default: no allow-origin header, and a preflight is refused with a code', async () => {
    const pre = await preflight(app.url, 'https://evil.example');
    expect(pre.status).toBe(403);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await pre.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('FORBIDDEN');
    const post = await postFrom(app.url, 'https://evil.example');
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('opens to the origins CORS_ORIGINS lists, and only to them', async () => {
    const dir = await tempDir('access-cors-');
    const open = await startTestApp({
      dataDir: dir,
      modelsDir: path.join(dir, 'models'),
      storeFile: path.join(dir, 'runs.sqlite'),
      env: { CORS_ORIGINS: 'https://screening.example.org, http://localhost:5173' },
    });
    try {
      const pre = await preflight(open.url, 'https://screening.example.org');
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('https://screening.example.org');
      expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
      expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization.*apollo-require-preflight/);
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
      expect(pre.headers.get('vary')).toMatch(/origin/i);
      const post = await postFrom(open.url, 'http://localhost:5173');
      expect(post.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(await post.json()).toEqual({ data: { modelStatus: { ready: false } } });

      expect(await webSocketFrom(open.wsUrl, 'https://screening.example.org')).toBe('open');
      expect(await webSocketFrom(open.wsUrl, 'https://evil.example')).toBe(403);
      expect((await preflight(open.url, 'https://screening.example.org.evil.example')).status).toBe(403);
      expect((await postFrom(open.url, 'http://localhost:5174')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await open.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a CORS_ORIGINS entry that is not an origin', () => {
    const env = (value: string) => ({ CORS_ORIGINS: value });
    for (const bad of ['https://ok.example/path', 'ftp://files.example', 'screening.example.org', 'https://ok.example/']) {
      expect(() => loadConfig(env(bad)), bad).toThrow(/CORS_ORIGINS/);
    }
    expect(loadConfig(env('*')).corsOrigins).toEqual(['*']);
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });
});

// -- security headers ---------------------------------------------------------------------------

describe('security headers', () => {
  it('the dashboard gets a content security policy that forbids inline code and framing', async () => {
    for (const route of ['/', '/runs/3', '/assets/app.js']) {
      const response = await fetch(`${app.origin}${route}`, { headers: { accept: 'text/html,*/*' } });
      expect(response.status, route).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      expect(directives.get('default-src'), route).toEqual(["'self'"]);
      expect(directives.get('script-src'), route).toEqual(["'self'"]);
      expect(directives.get('style-src'), route).toEqual(["'self'"]);
      expect(directives.get('frame-ancestors'), route).toEqual(["'none'"]);
      expect(directives.get('object-src'), route).toEqual(["'none'"]);
      expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    }
  });

  it('every response, API and dashboard alike, forbids sniffing, framing and referrers', async () => {
    const responses = [
      await fetch(`${app.origin}/`),
      await fetch(`${app.origin}/healthz`),
      await fetch(`${app.origin}/metrics`),
      await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ modelStatus { ready } }"}' }),
      await fetch(app.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'refused' }),
    ];
    for (const response of responses) {
      expect(response.headers.get('x-content-type-options'), response.url).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), response.url).toBe('DENY');
      expect(response.headers.get('referrer-policy'), response.url).toBe('no-referrer');
      expect(response.headers.get('x-powered-by'), response.url).toBeNull();
    }
  });
});

// -- a real server process: logs, files and uploads ---------------------------------------------

describe('the server process', () => {
  let toy: ToyDataset;
  let dir: string;
  let server: ServerProcess | undefined;
  /** A picture no file holds yet, which the model classifies (its input guard accepts it). */
  let image: Buffer;

  beforeAll(async () => {
    dir = await tempDir('access-process-');
    toy = await createToyDataset({ root: path.join(dir, 'data'), splits: { train: 12 }, size: 48, seed: 9 });
    // A model to classify with, trained before the process under test starts.
    const trainer = await startTestApp({ dataDir: toy.root, modelsDir: path.join(dir, 'models'), storeFile: path.join(dir, 'store', 'runs.sqlite') });
    // The smallest architecture: this test is about what the process writes, not about the model.
    await trainThroughService(trainer, { architecture: 'original-cnn', imageSize: 32, epochs: 1, augment: false });
    for (const file of toy.files) {
      const { data, info } = await sharp(file.path).raw().toBuffer({ resolveWithObject: true });
      // A few pixels changed by one level: the bytes are unique, the picture is the same.
      for (const byte of randomBytes(32)) data[(byte * 97) % data.length] ^= 1;
      const candidate = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toBuffer();
      if (await trainer.services.models.classify(candidate).then(() => true, () => false)) {
        image = candidate;
        break;
      }
    }
    await trainer.close();
    expect(image, 'no toy image was classified').toBeDefined();
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('never writes a token, a presented wrong token or an uploaded image anywhere', async () => {
    const tmp = path.join(dir, 'tmp');
    await fs.mkdir(tmp);
    const written = [path.join(dir, 'models'), path.join(dir, 'store'), path.join(dir, 'feedback'), toy.root, tmp];
    const filesBefore = new Set((await snapshotTree(written)).keys());
    server = await startServerProcess({
      env: {
        NODE_ENV: 'production',
        DATASETS_DIR: toy.root,
        MODELS_DIR: path.join(dir, 'models'),
        STORE_FILE: path.join(dir, 'store', 'runs.sqlite'),
        TMPDIR: tmp,
        FEEDBACK_DIR: path.join(dir, 'feedback'),
        ADMIN_TOKEN,
        CLASSIFY_TOKEN,
      },
    });
    await server.waitReady();
    const { url, origin } = server;

    // Secrets a client might send by mistake are as secret as the real ones.
    const wrongTokens = [`${ADMIN_TOKEN}-typo`, `wrong-${randomBytes(12).toString('hex')}`, `ws-${randomBytes(12).toString('hex')}`];
    const imageName = `upload-${randomBytes(8).toString('hex')}.png`;
    const needle = image.subarray(image.length >> 1, (image.length >> 1) + 48);
    const classify = (token?: string) =>
      gqlUpload(url, 'mutation ($f: Upload!) { classify(image: $f) { probability fileName } }', { f: null }, { 'variables.f': { bytes: image, name: imageName } }, { token });

    const classified = await classify(CLASSIFY_TOKEN);
    expect(classified.errors).toBeUndefined();
    expect(classified.data!.classify.fileName).toBe(imageName);
    expect((await classify(ADMIN_TOKEN)).errors).toBeUndefined();
    expect(codes(await classify(wrongTokens[1]))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await gql(url, 'mutation { promoteModel(version: "v99") { version } }', {}, { token: ADMIN_TOKEN }))).toEqual(['MODEL_NOT_FOUND']);
    expect(codes(await gql(url, 'mutation { startTraining(input: { epochs: -1 }) { id } }', {}, { token: ADMIN_TOKEN }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(url, 'mutation { rollbackModel { version } }', {}, { token: wrongTokens[0] }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await gql(url, 'mutation { rollbackModel { version } }', {}, { headers: { authorization: `Basic ${wrongTokens[1]}` } }))).toEqual(['UNAUTHENTICATED']);
    for (const params of [{ authorization: `Bearer ${ADMIN_TOKEN}` }, { token: wrongTokens[2] }]) {
      const client = wsClient(url.replace(/^http/, 'ws'), params);
      const sub = subscribe(client, 'subscription { trainingProgress { runId } }');
      await new Promise((r) => setTimeout(r, 300));
      sub.stop();
      await client.dispose();
    }
    const metrics = await (await fetch(`${origin}/metrics`)).text();

    expect(await server.stop(), server.output()).toBe(0);
    const output = server.output();

    const secrets = [ADMIN_TOKEN, CLASSIFY_TOKEN, ...wrongTokens];
    for (const secret of secrets) {
      expect(output, 'process output').not.toContain(secret);
      expect(metrics, '/metrics').not.toContain(secret);
    }
    expect(output).not.toContain(imageName);
    // New files are the run store's and tsx's compile cache, nothing else (a re-encoded copy of the upload would show here).
    const added = [...(await snapshotTree(written)).keys()].filter((file) => !filesBefore.has(file));
    expect(added.filter((file) => !file.startsWith(path.join(dir, 'store', 'runs.sqlite')) && !path.relative(tmp, file).startsWith('tsx-'))).toEqual([]);
    for (const secret of secrets) expect(await filesContaining(written, Buffer.from(secret)), secret).toEqual([]);
    expect(await filesContaining(written, Buffer.from(imageName)), 'the upload file name').toEqual([]);
    expect(await filesContaining(written, needle), 'the uploaded bytes').toEqual([]);
  });
});
