// Scheduling priority of the calling thread. On Linux the nice value is per thread, and a thread
// starts with the value of the thread that created it: a worker thread can lower its own (raising
// it back needs privileges, so this only ever lowers it) and the threads it starts inherit it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The calling thread's kernel id (Linux, /proc/thread-self), or null where there is none. */
export function currentThreadId(): number | null {
  try {
    const tid = Number(path.basename(fs.readlinkSync('/proc/thread-self')));
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/** The calling thread's nice value, or null where threads cannot be told apart. */
export function currentThreadPriority(): number | null {
  const tid = currentThreadId();
  return tid === null ? null : os.getPriority(tid);
}

/** Sets the calling thread's nice value to at least `nice`; false where threads cannot be told apart or the call is refused. */
export function lowerThreadPriority(nice: number): boolean {
  const tid = currentThreadId();
  if (tid === null) return false;
  try {
    os.setPriority(tid, Math.max(os.getPriority(tid), nice));
    return true;
  } catch {
    return false;
  }
}
