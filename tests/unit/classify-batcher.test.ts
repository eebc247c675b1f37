// When the batcher runs a forward pass, with what, and when it refuses. `predict` records each
// pass and scores an image by its first byte, so every answer can be traced to its request.
// Passes answer asynchronously, as the inference thread does.
import { describe, expect, it } from 'vitest';
import { ClassifyBatcher, type BatchingOptions } from '../../server/services/classify-batcher.js';
import { ServiceError } from '../../server/services/service-error.js';

function recordingBatcher(options: Partial<BatchingOptions> = {}) {
  const passes: { model: string; firstBytes: number[] }[] = [];
  const batcher = new ClassifyBatcher<string, number>(async (model, images) => {
    passes.push({ model, firstBytes: images.map((i) => i[0]!) });
    await tick();
    if (model === 'broken') throw new Error('forward pass failed');
    return Float32Array.from(images, (i) => i[0]! / 100);
  }, options);
  return { batcher, passes };
}

const image = (id: number) => Uint8Array.of(id, 0, 0);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** An admitted classification whose decoding finishes when `decoded()` is called. */
function classification(batcher: ClassifyBatcher<string>, id: number, model = 'm') {
  let decoded!: () => void;
  const decoding = new Promise<void>((resolve) => (decoded = resolve));
  const result = batcher.admit(async () => {
    await decoding;
    return batcher.enqueue(model, image(id));
  });
  return { result, decoded };
}

describe('ClassifyBatcher', () => {
  it('runs a lone classification at once, without waiting the delay', async () => {
    const { batcher, passes } = recordingBatcher({ maxDelayMs: 10_000 });
    const started = performance.now();
    const c = classification(batcher, 7);
    c.decoded();
    expect(await c.result).toEqual({ result: expect.closeTo(0.07, 6), inferenceMs: expect.any(Number), batchSize: 1 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(passes).toEqual([{ model: 'm', firstBytes: [7] }]);
  });

  it('waits for classifications still decoding and runs them in one pass, each getting its own answer', async () => {
    const { batcher, passes } = recordingBatcher({ maxDelayMs: 10_000 });
    const cs = [1, 2, 3].map((id) => classification(batcher, id));
    cs[0]!.decoded();
    cs[2]!.decoded();
    await tick();
    expect(passes).toEqual([]);
    cs[1]!.decoded();
    const results = await Promise.all(cs.map((c) => c.result));
    expect(passes).toEqual([{ model: 'm', firstBytes: [1, 3, 2] }]);
    expect(results.map((r) => r.result)).toEqual([1, 2, 3].map((id) => Math.fround(id / 100)));
    expect(results.every((r) => r.batchSize === 3)).toBe(true);
  });

  it('waits at most maxDelayMs for a slow decoder', async () => {
    const { batcher, passes } = recordingBatcher({ maxDelayMs: 20 });
    const fast = classification(batcher, 1);
    const slow = classification(batcher, 2);
    fast.decoded();
    await fast.result;
    expect(passes).toEqual([{ model: 'm', firstBytes: [1] }]);
    slow.decoded();
    await slow.result;
    expect(passes).toHaveLength(2);
  });

  it('splits at maxBatch, and runs one pass per model when a swap mixed two', async () => {
    const { batcher, passes } = recordingBatcher({ maxBatch: 2, maxDelayMs: 10_000 });
    const cs = [1, 2, 3, 4, 5].map((id) => classification(batcher, id, id === 5 ? 'new' : 'm'));
    for (const c of cs) c.decoded();
    await Promise.all(cs.map((c) => c.result));
    expect(passes).toEqual([
      { model: 'm', firstBytes: [1, 2] },
      { model: 'm', firstBytes: [3, 4] },
      { model: 'new', firstBytes: [5] },
    ]);
    expect(batcher.stats()).toEqual({ pending: 0, batches: 3, images: 5, largestBatch: 2, refused: 0 });
  });

  it('with one pass slot (the default), runs one pass at a time; images arriving during a pass join the next one together', async () => {
    const passes: number[][] = [];
    let release!: () => void;
    const batcher = new ClassifyBatcher<string, number>(
      async (_model, images) => {
        passes.push(images.map((i) => i[0]!));
        if (passes.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return images.map(() => 0.5);
      },
      { maxDelayMs: 0 },
    );
    const first = classification(batcher, 1);
    first.decoded();
    await tick();
    const later = [2, 3, 4].map((id) => classification(batcher, id));
    for (const c of later) c.decoded();
    await tick();
    await tick();
    expect(passes).toEqual([[1]]);
    release();
    const results = await Promise.all([first.result, ...later.map((c) => c.result)]);
    expect(passes).toEqual([[1], [2, 3, 4]]);
    expect(results.map((r) => r.batchSize)).toEqual([1, 3, 3, 3]);
  });

  it('runs up to concurrentPasses passes at once; the next waits for one of them to end', async () => {
    const passes: number[][] = [];
    const releases: (() => void)[] = [];
    const batcher = new ClassifyBatcher<string, number>(
      async (_model, images) => {
        passes.push(images.map((i) => i[0]!));
        await new Promise<void>((resolve) => releases.push(resolve));
        return images.map(() => 0.5);
      },
      { maxDelayMs: 0, maxBatch: 2, concurrentPasses: 2 },
    );
    const all = [1, 2, 3, 4, 5, 6].map((id) => classification(batcher, id));
    for (const c of all) c.decoded();
    await tick();
    await tick();
    // Two passes of maxBatch under way; the rest wait for a slot.
    expect(passes).toEqual([[1, 2], [3, 4]]);
    releases[1]!();
    await tick();
    await tick();
    expect(passes).toEqual([[1, 2], [3, 4], [5, 6]]);
    releases[0]!();
    releases[2]!();
    const results = await Promise.all(all.map((c) => c.result));
    expect(results.map((r) => r.batchSize)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(batcher.stats()).toMatchObject({ pending: 0, batches: 3, images: 6 });
  });

  it('flush() runs what is waiting now', async () => {
    const { batcher, passes } = recordingBatcher({ maxDelayMs: 10_000 });
    const waiting = classification(batcher, 1);
    const decoding = classification(batcher, 2);
    waiting.decoded();
    await tick();
    batcher.flush();
    expect(passes).toEqual([{ model: 'm', firstBytes: [1] }]);
    decoding.decoded();
    await Promise.all([waiting.result, decoding.result]);
  });

  it('a failed pass rejects only its own images', async () => {
    const { batcher } = recordingBatcher({ maxDelayMs: 10_000 });
    const good = classification(batcher, 1);
    const bad = classification(batcher, 2, 'broken');
    good.decoded();
    bad.decoded();
    await expect(bad.result).rejects.toThrow('forward pass failed');
    expect((await good.result).result).toBeCloseTo(0.01, 6);
  });

  it('refuses beyond maxPending with OVERLOADED at once, and frees slots when work ends, failed or not', async () => {
    const { batcher } = recordingBatcher({ maxPending: 2 });
    const a = classification(batcher, 1);
    const b = batcher.admit(async () => {
      throw new Error('not an image');
    });
    await expect(b).rejects.toThrow('not an image');
    const c = classification(batcher, 3);
    const refused = batcher.admit(async () => 'never runs');
    await expect(refused).rejects.toSatisfy((e) => e instanceof ServiceError && e.code === 'OVERLOADED');
    expect(batcher.stats()).toMatchObject({ pending: 2, refused: 1 });
    a.decoded();
    c.decoded();
    await Promise.all([a.result, c.result]);
    expect(batcher.stats().pending).toBe(0);
    const d = classification(batcher, 4);
    d.decoded();
    expect((await d.result).batchSize).toBe(1);
  });

  it('rejects nonsensical options', () => {
    expect(() => recordingBatcher({ maxBatch: 0 })).toThrow(RangeError);
    expect(() => recordingBatcher({ maxPending: 1.5 })).toThrow(RangeError);
    expect(() => recordingBatcher({ maxDelayMs: -1 })).toThrow(RangeError);
    expect(() => recordingBatcher({ concurrentPasses: 0 })).toThrow(RangeError);
  });
});
