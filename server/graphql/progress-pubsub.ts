// The service's events: every training event on one topic (subscribers filter by run id), plus
// the two control messages several processes need (a new active model, a cancel request).
// In memory for one process; with REDIS_URL the same topics travel over Redis pub/sub, so a
// subscriber on any replica sees the progress of a run executed by any trainer worker.
import { createPubSub, Repeater, SlidingBuffer, type PubSub, type PubSubEventTarget } from '@graphql-yoga/subscription';
import type { PubSub as SchemaPubSub } from 'type-graphql';
import type { TrainingProgressEvent } from '../services/training-service.js';

export const TRAINING_PROGRESS = 'TRAINING_PROGRESS';
/** A version became active (a run activated it, or promote/rollback): every replica reloads. */
export const MODEL_ACTIVATED = 'MODEL_ACTIVATED';
/** A run should stop: the trainer worker executing it cancels it. */
export const CANCEL_TRAINING = 'CANCEL_TRAINING';

/** Events a slow subscriber may fall behind by before the oldest are dropped. */
export const SUBSCRIBER_BUFFER = 256;

export type Topics = {
  [TRAINING_PROGRESS]: [TrainingProgressEvent];
  [MODEL_ACTIVATED]: [{ version: string }];
  [CANCEL_TRAINING]: [{ runId: string }];
};
export type ProgressPubSub = PubSub<Topics>;

/** In memory, or over `eventTarget` (Redis) when given. */
export function createProgressPubSub(eventTarget?: PubSubEventTarget<Topics>): ProgressPubSub {
  return createPubSub<Topics>(eventTarget ? { eventTarget } : undefined);
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
