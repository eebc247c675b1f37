// One in-process topic carries every training event; subscribers filter by run id.
import { createPubSub, Repeater, SlidingBuffer, type PubSub } from '@graphql-yoga/subscription';
import type { PubSub as SchemaPubSub } from 'type-graphql';
import type { TrainingProgressEvent } from '../services/training-service.js';

export const TRAINING_PROGRESS = 'TRAINING_PROGRESS';

/** Events a slow subscriber may fall behind by before the oldest are dropped. */
export const SUBSCRIBER_BUFFER = 256;

type Topics = { [TRAINING_PROGRESS]: [TrainingProgressEvent] };
export type ProgressPubSub = PubSub<Topics>;

export function createProgressPubSub(): ProgressPubSub {
  return createPubSub<Topics>();
}

/** The callback the TrainingService publishes through. */
export function progressPublisher(pubSub: ProgressPubSub): (event: TrainingProgressEvent) => void {
  return (event) => pubSub.publish(TRAINING_PROGRESS, event);
}

/**
 * Reads `source` as fast as it produces into a buffer that drops the oldest events when full.
 * A subscription straight on the pub/sub queues every event for a reader that does not keep up
 * (a stalled WebSocket) and throws past 1024 of them, from inside `publish`, which would take the
 * process down in the middle of a training run. The newest events, `finished` above all, are kept.
 */
export function slidingSubscription<T>(source: AsyncIterable<T>, capacity = SUBSCRIBER_BUFFER): Repeater<T> {
  return new Repeater<T>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      void iterator.return?.();
    });
    while (!stopped) {
      const result = await iterator.next();
      if (result.done || stopped) break;
      // A sliding buffer never makes push wait, so this loop keeps the source empty.
      void push(result.value);
    }
    stop();
  }, new SlidingBuffer(capacity));
}

/** The pub/sub as type-graphql subscribes to it: every subscriber gets its own sliding buffer. */
export function schemaPubSub(pubSub: ProgressPubSub, capacity = SUBSCRIBER_BUFFER): SchemaPubSub {
  return {
    publish: (topic, ...args) => pubSub.publish(topic as typeof TRAINING_PROGRESS, args[0] as TrainingProgressEvent),
    subscribe: (topic) => slidingSubscription(pubSub.subscribe(topic as typeof TRAINING_PROGRESS), capacity),
  };
}
