// server/index.ts as a real process on a free loopback port: its whole output captured, killable
// with any signal, optionally started under a command prefix (resource limits) or with a preload.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../server/paths.js';

export interface ServerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  wsUrl: string;
  origin: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code, or the signal's name. */
  exited: Promise<number | string | null>;
  /** Resolves once the output matches `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves once /readyz answers 200. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | string | null>;
}

export interface ServerProcessOptions {
  env: Record<string, string>;
  /** A CommonJS module loaded first in every thread (node --require). */
  preload?: string;
  /** Runs node under this command, e.g. ['prlimit', '--fsize=1000000']. */
  prefix?: string[];
}

/** A project entry point (server/index.ts, server/worker.ts) as a process with its output captured. */
export interface ProjectProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | string | null>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | string | null>;
}

export function spawnProjectProcess(entry: string, options: ServerProcessOptions): ProjectProcess {
  const nodeArgs = [...(options.preload ? ['--require', options.preload] : []), '--import', 'tsx', path.join(repoRoot, entry)];
  const [command, ...args] = [...(options.prefix ?? []), process.execPath, ...nodeArgs];
  const child = spawn(command!, args, {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', TF_BACKEND: 'wasm', AUTO_TRAIN: 'false', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));

  const waitForOutput = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        const match = pattern.exec(output);
        if (match) {
          clearInterval(poll);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null || Date.now() - started > timeoutMs) {
          clearInterval(poll);
          reject(new Error(`no output matching ${pattern} (${child.exitCode ?? child.signalCode ?? 'timed out'}):\n${output}`));
        }
      }, 20);
    });
  return {
    child,
    output: () => output,
    exited,
    waitForOutput,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** `npm run worker` from source: resolves once it takes jobs. */
export async function startWorkerProcess(options: ServerProcessOptions): Promise<ProjectProcess> {
  const worker = spawnProjectProcess('server/worker.ts', options);
  await worker.waitForOutput(/trainer worker ready/);
  return worker;
}

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const { child, output: currentOutput, exited, waitForOutput, stop } = spawnProjectProcess('server/index.ts', options);
  const url = (await waitForOutput(/GraphQL at (http:\/\/\S+\/graphql)/))[1]!;
  const origin = url.replace(/\/graphql$/, '');
  return {
    child,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    origin,
    output: currentOutput,
    exited,
    waitForOutput,
    async waitReady(timeoutMs = 60_000) {
      const started = Date.now();
      for (;;) {
        const response = await fetch(`${origin}/readyz`);
        if (response.status === 200) return;
        if (Date.now() - started > timeoutMs) throw new Error(`not ready: ${await response.text()}\n${currentOutput()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    stop,
  };
}
