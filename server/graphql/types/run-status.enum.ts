import { registerEnumType } from 'type-graphql';

// Values are the run store's strings.
export enum RunStatus {
  QUEUED = 'queued',
  RUNNING = 'running',
  SUCCEEDED = 'succeeded',
  FAILED = 'failed',
  CANCELLED = 'cancelled',
  INTERRUPTED = 'interrupted',
}

registerEnumType(RunStatus, {
  name: 'RunStatus',
  valuesConfig: {
    INTERRUPTED: { description: 'The server stopped (crash, kill or restart) before the run finished.' },
  },
});
