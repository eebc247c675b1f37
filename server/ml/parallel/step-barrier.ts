// The point in a data-parallel step where every replica has written its gradient and Adam may
// start. The replicas meet here among themselves, on a shared Int32Array, instead of each
// reporting to the coordinator's event loop and waiting for its next message: that round
// trip was ~1-2 ms of every step, more when the coordinator's thread was busy building the
// next batch. Worker threads may block in Atomics.wait; Worker.terminate() still ends one
// that waits, so a crashed replica cannot leave the others hanging once the coordinator
// stops the engine.

const ARRIVED = 0;
const GENERATION = 1;
/** Set by a party that arrives failed. */
const FAILING = 2;
/** The meeting's answer, set by its last party before it lets the others go: parties of the
 * next meeting may already set FAILING while slow ones of this meeting still read FAILED. */
const FAILED = 3;

/** Int32 slots the barrier needs in a SharedArrayBuffer. */
export const STEP_BARRIER_SLOTS = 4;

export class StepBarrier {
  private readonly state: Int32Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly parties: number,
  ) {
    this.state = new Int32Array(buffer, 0, STEP_BARRIER_SLOTS);
  }

  /**
   * Blocks until all parties have arrived, then tells whether any of them arrived failed.
   * A failure is final: every later meeting reports it too (the engine is stopped after one).
   */
  arrive(failed: boolean): boolean {
    const { state } = this;
    if (failed) Atomics.store(state, FAILING, 1);
    // Read before arriving: the last party to arrive advances it.
    const generation = Atomics.load(state, GENERATION);
    if (Atomics.add(state, ARRIVED, 1) === this.parties - 1) {
      Atomics.store(state, FAILED, Atomics.load(state, FAILING));
      Atomics.store(state, ARRIVED, 0);
      Atomics.add(state, GENERATION, 1);
      Atomics.notify(state, GENERATION);
    } else {
      while (Atomics.load(state, GENERATION) === generation) Atomics.wait(state, GENERATION, generation);
    }
    return Atomics.load(state, FAILED) === 1;
  }
}
