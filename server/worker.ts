// A trainer worker process (`npm run worker`): executes training runs queued by the API replicas
// of a scaled-out deployment (REDIS_URL), on the shared models folder and run store.
import { loadConfig } from './config.js';
import { consoleLogger as log } from './http/logger.js';
import { startTrainer } from './scale-out/trainer.js';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.redisUrl) {
    log.error('npm run worker needs REDIS_URL: a single server (npm start) trains by itself without one');
    process.exit(2);
  }
  const trainer = await startTrainer(config, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: cancelling the run in progress and stopping`);
    trainer.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  log.error('trainer worker start-up failed', error);
  process.exit(1);
});
