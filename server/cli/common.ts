// Shared start-up for the command-line tools: settings, backend, the model to use.
import { initBackend, describeBackend, type BackendInfo } from '../ml/backend.js';
import { loadConfig, type Config } from '../config.js';
import { ModelRegistry } from '../registry/model-registry.js';
import { Classifier } from '../ml/classifier.js';

export async function startCli(): Promise<{ config: Config; backend: BackendInfo }> {
  const config = loadConfig();
  const backend = await initBackend({ preferred: config.backend, threads: config.threads });
  process.stderr.write(`tfjs backend: ${describeBackend(backend)}\n`);
  return { config, backend };
}

/** The requested version, or the active one. */
export async function loadClassifier(config: Config, version?: string): Promise<Classifier> {
  const registry = new ModelRegistry(config.modelsDir);
  const chosen = version ?? (await registry.activeVersion());
  if (!chosen) throw new Error(`no active model in ${config.modelsDir}: train one with "npm run train -- --data <folder>"`);
  const { model, metadata } = await registry.load(chosen);
  return new Classifier(model, metadata, { maxPixels: config.maxImagePixels, minSide: config.minImageSide });
}

/**
 * Exits once stdout and stderr have taken everything written to them: exiting straight away cut
 * `--json` output piped to another program at 64 KB (the pipe's buffer).
 */
function exitAfterOutput(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

/** Runs a CLI entry point, printing a one-line error instead of a stack for expected failures. */
export function runCli(main: () => Promise<void>): void {
  main().then(
    // Explicit exit: tfjs and sharp keep handles open; the exit code set by main() stands.
    () => exitAfterOutput(typeof process.exitCode === 'number' ? process.exitCode : 0),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`error: ${message}\n`);
      if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
      exitAfterOutput(1);
    },
  );
}
