// Worker-thread entry of one model replica: a single-threaded WASM backend with this project's
// kernels, answering the coordinator's requests in order.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.js';
import { ModelReplica } from './model-replica.js';
import type { CoordinatorMessage, ReplicaMessage, ReplicaSetup } from './protocol.js';

if (!parentPort) throw new Error('replica-worker.ts must run inside a worker thread');
const port = parentPort;
const reply = (message: ReplicaMessage) => port.postMessage(message);

function handle(replica: ModelReplica, message: CoordinatorMessage): void {
  switch (message.type) {
    case 'step':
      reply({ type: 'stepped', ...replica.step(message) });
      return;
    case 'statistics':
      replica.writeStatistics();
      reply({ type: 'statistics' });
      return;
    case 'memory':
      reply({ type: 'memory', ...replica.memory() });
      return;
  }
}

try {
  // One compute thread per replica: the replicas are the parallelism.
  await initBackend({ preferred: 'wasm', threads: 1 });
  const replica = new ModelReplica(workerData as ReplicaSetup);
  port.on('message', (message: CoordinatorMessage) => {
    try {
      handle(replica, message);
    } catch (error) {
      reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    }
  });
  reply({ type: 'ready' });
} catch (error) {
  reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}
