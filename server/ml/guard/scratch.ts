// Working memory the guard's per-image measures reuse from one image to the next. They run on the
// thread that handles requests, for every classified image: fresh 35 kB arrays per measure made
// up most of what that thread allocated per request, and so most of its garbage collections.

/** A float buffer lent out again on every `take`: valid until the next one, so never kept. */
export class ScratchFloats {
  private buffer = new Float32Array(0);

  /** `length` floats, their contents left over from the last use. */
  take(length: number): Float32Array {
    if (this.buffer.length < length) this.buffer = new Float32Array(length);
    return this.buffer.length === length ? this.buffer : this.buffer.subarray(0, length);
  }
}
