// What the dashboard's browser tests stand on: a current build of the dashboard, the real app
// (the same start-up as server/index.ts) on a free port with temporary folders and a toy lesion
// dataset, and a headless Debian chromium that records console errors.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../../server/config.js';
import { startApp, type RunningApp } from '../../server/http/app.js';
import { memoryLogger } from '../../server/http/logger.js';
import { repoRoot, sharedDatasetDir } from '../../server/paths.js';
import { createToyDataset, type ToyDataset } from '../helpers/images.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const ADMIN_TOKEN = 'admin-token-for-dashboard-tests-0123456789';
export const dashboardDir = path.join(repoRoot, 'dashboard');
export const distDir = path.join(dashboardDir, 'dist');
export const screenshotDir = path.join(repoRoot, 'tests', '.artifacts', 'screenshots');

const BUILD_INPUTS = ['src', 'public', 'build', 'index.html', 'vite.config.ts', 'tsconfig.json', '../schema.graphql'];

function newestMtime(target: string): number {
  if (!fs.existsSync(target)) return 0;
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...fs.readdirSync(target).map((name) => newestMtime(path.join(target, name))));
}

/** Builds the dashboard when dist is missing or older than any of its sources. */
export function ensureDashboardBuilt(): void {
  const builtAt = newestMtime(path.join(distDir, 'index.html'));
  const sourcesAt = Math.max(...BUILD_INPUTS.map((p) => newestMtime(path.resolve(dashboardDir, p))));
  if (builtAt > sourcesAt) return;
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'dashboard', '--logLevel', 'warn'], {
    cwd: repoRoot,
    stdio: 'pipe',
    timeout: 180_000,
    env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
  });
}

export interface DashboardServer {
  app: RunningApp;
  origin: string;
  toy: ToyDataset;
  logs: string[];
  /** Cuts every open WebSocket, as a network drop would. */
  dropWebSockets(): number;
  close(): Promise<void>;
}

/** `env` adds settings (as environment variables would); `{root}` in a value is the server's temp folder. */
export async function startDashboardServer(options: { env?: Record<string, string> } = {}): Promise<DashboardServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-e2e-'));
  const dataDir = path.join(root, 'data');
  const toy = await createToyDataset({ root: dataDir, splits: { train: 24, test: 8 }, size: 48, seed: 11 });
  const config = loadConfig({
    DATASETS_DIR: dataDir,
    MODELS_DIR: path.join(root, 'models'),
    STORE_FILE: path.join(root, 'runs.sqlite'),
    DASHBOARD_DIR: distDir,
    PORT: '0',
    HOST: '127.0.0.1',
    TF_BACKEND: 'wasm',
    ADMIN_TOKEN,
    AUTO_TRAIN: 'false',
    ...Object.fromEntries(Object.entries(options.env ?? {}).map(([key, value]) => [key, value.replaceAll('{root}', root)])),
  });
  const log = memoryLogger();
  const app = await startApp(config, { log });
  await app.modelLoaded;

  const sockets = new Set<Socket>();
  app.server.httpServer.on('upgrade', (_request, socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  return {
    app,
    origin: app.server.origin,
    toy,
    logs: log.lines,
    dropWebSockets() {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      return count;
    },
    async close() {
      await app.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A real lesion photo from the shared dataset when it is there, else a toy one. */
export function lesionPhoto(toy: ToyDataset): string {
  for (const className of ['malignant', 'benign']) {
    const dir = path.join(sharedDatasetDir, 'test', className);
    const first = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => /\.(jpe?g|png)$/i.test(f)) : undefined;
    if (first) return path.join(dir, first);
  }
  return toy.files.find((f) => f.split === 'test' && f.className === 'malignant')!.path;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[];
}

export async function openPage(browser: Browser, options: { width: number; height: number }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: options.width, height: options.height }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return { context, page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
