// Start-up: settings -> the inference threads (they pick the backend, then load the model) -> run store -> training -> HTTP server, then a first
// training run when there is no model yet but there are images to learn from.
import 'reflect-metadata';
import { loadConfig, screeningSettings } from './config.js';
import path from 'node:path';
import { consoleLogger as log } from './http/logger.js';
import { InferencePool } from './inference/inference-pool.js';
import { activeVersionHint } from './registry/active-file.js';

async function main(): Promise<void> {
  const config = loadConfig();
  // The inference threads (one per core or TF_THREADS) load tfjs, start their backends and then
  // the active model while this thread loads the HTTP and GraphQL modules.
  const inference = new InferencePool({
    modelsDir: path.resolve(config.modelsDir),
    backend: { preferred: config.backend, threads: config.threads },
    screening: screeningSettings(config),
    onRestart: (message) => log.error(message),
  });
  const active = await activeVersionHint(path.resolve(config.modelsDir));
  if (active) inference.preload(active);
  const { startApp } = await import('./http/app.js');
  const app = await startApp(config, { log, inference });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down (finishing in-flight requests, cancelling training)`);
    app.close().then(
      () => {
        log.info('stopped');
        // tfjs and sharp keep handles open; everything that matters is closed.
        process.exit(0);
      },
      (error: unknown) => {
        log.error('shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  if (config.autoTrain) {
    try {
      const run = await app.services.training.autoTrainIfNeeded();
      if (run) log.info(`no model yet: training run ${run.id} started on ${config.datasetsDir}`);
    } catch (error) {
      log.error('automatic first training could not start', error);
    }
  }
}

main().catch((error: unknown) => {
  log.error('start-up failed', error);
  process.exit(1);
});
