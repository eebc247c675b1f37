// Talks to a real server over real HTTP and WebSocket: JSON and multipart GraphQL requests,
// graphql-ws subscriptions, and a server started the way server/index.ts starts it.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../server/config.js';
import { startApp, type RunningApp } from '../../server/http/app.js';
import { memoryLogger } from '../../server/http/logger.js';

export const ADMIN_TOKEN = 'admin-token-for-api-tests-0123456789';
export const CLASSIFY_TOKEN = 'classify-token-for-api-tests-0123456789';

export interface GraphQLErrorJson {
  message: string;
  extensions?: { code?: string; reason?: string; [key: string]: unknown };
  path?: (string | number)[];
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: GraphQLErrorJson[];
}

export interface TestApp extends RunningApp {
  url: string;
  wsUrl: string;
  origin: string;
  logs: string[];
  dirs: { data: string; models: string; store: string };
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** The real app on a free loopback port. `env` overrides settings exactly as the environment would. */
export async function startTestApp(options: { dataDir: string; modelsDir: string; storeFile: string; env?: Record<string, string> }): Promise<TestApp> {
  const config = loadConfig({
    DATASETS_DIR: options.dataDir,
    MODELS_DIR: options.modelsDir,
    STORE_FILE: options.storeFile,
    DASHBOARD_DIR: path.join(options.modelsDir, 'no-dashboard-here'),
    PORT: '0',
    HOST: '127.0.0.1',
    TF_BACKEND: 'wasm',
    ...options.env,
  });
  const log = memoryLogger();
  const app = await startApp(config, { log });
  return {
    ...app,
    url: app.server.url,
    wsUrl: app.server.wsUrl,
    origin: app.server.origin,
    logs: log.lines,
    dirs: { data: options.dataDir, models: options.modelsDir, store: options.storeFile },
  };
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function parse(response: Response): Promise<GraphQLResponse> {
  const text = await response.text();
  try {
    return { status: response.status, ...(JSON.parse(text) as object) };
  } catch {
    throw new Error(`not a GraphQL response (HTTP ${response.status}): ${text.slice(0, 200)}`);
  }
}

export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders(options.token), ...options.headers },
    body: JSON.stringify({ query, variables }),
  });
  return parse(response) as Promise<GraphQLResponse<T>>;
}

export interface UploadFile {
  bytes: Buffer;
  name: string;
  type?: string;
}

/**
 * A GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec):
 * `files` maps variable paths such as "variables.image" or "variables.images.0" to files.
 */
export async function gqlUpload<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  files: Record<string, UploadFile>,
  options: { token?: string; preflight?: boolean; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables }));
  const entries = Object.entries(files);
  form.append('map', JSON.stringify(Object.fromEntries(entries.map(([variablePath], i) => [String(i), [variablePath]]))));
  entries.forEach(([, file], i) => form.append(String(i), new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'application/octet-stream' }), file.name));
  const headers: Record<string, string> = { ...authHeaders(options.token), ...options.headers };
  if (options.preflight !== false) headers['apollo-require-preflight'] = 'true';
  const response = await fetch(url, { method: 'POST', headers, body: form });
  return parse(response) as Promise<GraphQLResponse<T>>;
}

export function codes(response: GraphQLResponse): (string | undefined)[] {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

export function wsClient(url: string, connectionParams?: Record<string, unknown>): Client {
  return createClient({ url, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
}

export interface Subscription<T> {
  events: T[];
  errors: GraphQLErrorJson[];
  /** Resolves when the server completes the subscription or it fails. */
  ended: Promise<void>;
  /** Resolves with the first event matching `predicate` (already received ones count). */
  waitFor(predicate: (event: T) => boolean, timeoutMs?: number): Promise<T>;
  stop(): void;
}

export function subscribe<T>(client: Client, query: string, variables: Record<string, unknown> = {}, pick: (data: any) => T = (d) => d): Subscription<T> {
  const events: T[] = [];
  const errors: GraphQLErrorJson[] = [];
  const waiters: { predicate: (event: T) => boolean; resolve: (event: T) => void }[] = [];
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  const stop = client.subscribe<any>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...(result.errors as GraphQLErrorJson[]));
        if (!result.data) return;
        const event = pick(result.data);
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(event)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      },
      error: (error) => {
        if (Array.isArray(error)) errors.push(...(error as GraphQLErrorJson[]));
        else errors.push({ message: error instanceof Error ? error.message : `socket closed: ${(error as { code?: number; reason?: string })?.code ?? ''} ${(error as { reason?: string })?.reason ?? ''}` });
        finish();
      },
      complete: () => finish(),
    },
  );
  return {
    events,
    errors,
    ended,
    stop,
    waitFor(predicate, timeoutMs = 60_000) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events.slice(-5))}`)), timeoutMs);
        waiters.push({
          predicate,
          resolve: (event) => {
            clearTimeout(timer);
            resolve(event);
          },
        });
      });
    },
  };
}

/** Trains through the service the API uses and waits for the run to end. */
export async function trainThroughService(app: RunningApp, input: Record<string, unknown>): Promise<string> {
  const run = await app.services.training.start({ imageSize: 32, epochs: 3, batchSize: 8, seed: 7, ...input }, 'api');
  await app.services.training.whenIdle();
  return run.id;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
