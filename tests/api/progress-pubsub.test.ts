// The progress pub/sub under a subscriber that does not read: publishing must never throw, and
// the subscriber must still get the newest events (the run's end) when it reads again.
import { afterEach, describe, expect, it } from 'vitest';
import { createProgressPubSub, progressPublisher, schemaPubSub, TRAINING_PROGRESS } from '../../server/graphql/progress-pubsub.js';
import type { TrainingProgressEvent } from '../../server/services/training-service.js';

const nextMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));
const stops: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('training progress pub/sub', () => {
  it('drops the oldest events for a stalled subscriber instead of failing the publisher', async () => {
    const pubSub = createProgressPubSub();
    const publish = progressPublisher(pubSub);
    const iterator = schemaPubSub(pubSub, 16).subscribe(TRAINING_PROGRESS)[Symbol.asyncIterator]();
    stops.push(() => iterator.return!());
    const first = iterator.next();
    await nextMacrotask();

    // Well past the 1024 pending events a plain subscription allows; one per macrotask, like worker messages.
    const total = 2000;
    for (let batch = 1; batch <= total; batch++) {
      expect(() => publish({ runId: 'run-1', status: 'running', kind: 'batch', batch })).not.toThrow();
      await nextMacrotask();
    }
    publish({ runId: 'run-1', status: 'succeeded', kind: 'finished' });
    await nextMacrotask();

    const received: TrainingProgressEvent[] = [((await first).value as TrainingProgressEvent)];
    for (let i = 0; i < 16; i++) received.push((await iterator.next()).value as TrainingProgressEvent);
    expect(received[0]).toMatchObject({ kind: 'batch', batch: 1 });
    expect(received.at(-1)).toMatchObject({ kind: 'finished', status: 'succeeded' });
    // What is left in between are the newest batches, in order.
    const batches = received.slice(1, -1).map((e) => e.batch);
    expect(batches).toEqual(Array.from({ length: 15 }, (_, i) => total - 14 + i));
  });

  it('delivers every event, in order, to a subscriber that keeps up', async () => {
    const pubSub = createProgressPubSub();
    const iterator = schemaPubSub(pubSub).subscribe(TRAINING_PROGRESS)[Symbol.asyncIterator]();
    stops.push(() => iterator.return!());
    const pending = Array.from({ length: 50 }, () => iterator.next());
    await nextMacrotask();
    for (let batch = 1; batch <= 50; batch++) pubSub.publish(TRAINING_PROGRESS, { runId: 'run-2', status: 'running', kind: 'batch', batch });
    const values = await Promise.all(pending);
    expect(values.map((v) => (v.value as TrainingProgressEvent).batch)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });
});
