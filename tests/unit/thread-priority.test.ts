// A thread's own priority on Linux, as the training worker uses it: lowering it in a worker
// leaves the other threads alone, threads that worker starts begin with it (the training
// replicas), and it is never raised again.
import { describe, expect, it } from 'vitest';
import { startModuleWorker } from '../../server/util/module-worker.js';
import { currentThreadId, currentThreadPriority } from '../../server/util/thread-priority.js';

interface ProbeReport {
  lowered: boolean[];
  tid: number | null;
  nice: number | null;
  child: ProbeReport | null;
}

async function probe(steps: number[], nested = false): Promise<ProbeReport> {
  const worker = startModuleWorker(new URL('../fixtures/priority-probe.js', import.meta.url), { steps, nested });
  try {
    return await new Promise<ProbeReport>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe.skipIf(process.platform !== 'linux')('lowerThreadPriority', () => {
  it('knows the main thread of a process by the process id', () => {
    // Tests run on the main thread of a forked process (vitest.config.ts: pool 'forks').
    expect(currentThreadId()).toBe(process.pid);
  });

  it('lowers only the calling thread, and the threads it starts begin at its value', async () => {
    const own = currentThreadPriority()!;
    const report = await probe([own + 7], true);
    expect(report.tid).not.toBe(process.pid);
    expect(report.child?.tid).not.toBe(report.tid);
    expect(report.lowered).toEqual([true]);
    expect(report.nice).toBe(own + 7);
    expect(report.child?.nice).toBe(own + 7);
    expect(currentThreadPriority()).toBe(own);
  });

  it('never raises a priority it has lowered', async () => {
    const own = currentThreadPriority()!;
    const report = await probe([own + 6, own + 2]);
    expect(report.lowered).toEqual([true, true]);
    expect(report.nice).toBe(own + 6);
  });
});
