// Redis connections for a scaled-out deployment. ioredis reconnects by itself after Redis
// restarts (and re-subscribes pub/sub channels); what differs per use is whether a command may
// wait for the connection to come back.
import { Redis, type RedisOptions } from 'ioredis';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createProgressPubSub, type ProgressPubSub, type Topics } from '../graphql/progress-pubsub.js';
import type { PubSubEvent, PubSubEventTarget } from '@graphql-yoga/subscription';

export type ConnectionUse =
  /** bullmq workers and queue events: block until Redis answers again (bullmq requires this). */
  | 'blocking'
  /** Requests from API clients (enqueue, cancel): fail at once while Redis is down rather than hang. */
  | 'request'
  /** Pub/sub: publishes wait in the offline queue for the reconnection. */
  | 'pubsub';

const reconnect: RedisOptions['retryStrategy'] = (attempt) => Math.min(100 * attempt, 2_000);

export function connectRedis(url: string, use: ConnectionUse, name: string): Redis {
  const common: RedisOptions = { connectionName: `skin-cancer-detection:${name}`, retryStrategy: reconnect, lazyConnect: false };
  const options: RedisOptions =
    use === 'blocking'
      ? { ...common, maxRetriesPerRequest: null }
      : use === 'request'
        ? { ...common, maxRetriesPerRequest: 1, enableOfflineQueue: false }
        : { ...common, maxRetriesPerRequest: null };
  const redis = new Redis(url, options);
  // Connection errors are retried by the strategy above; without a listener ioredis would log each.
  redis.on('error', () => undefined);
  return redis;
}

/** The service's topics over Redis pub/sub: one connection publishes, one subscribes. */
export function redisPubSub(url: string, name: string): { pubSub: ProgressPubSub; close(): Promise<void> } {
  const publishClient = connectRedis(url, 'pubsub', `${name}:publish`);
  const subscribeClient = connectRedis(url, 'pubsub', `${name}:subscribe`);
  const eventTarget = createRedisEventTarget<PubSubEvent<Topics, keyof Topics>>({ publishClient, subscribeClient }) as unknown as PubSubEventTarget<Topics>;
  return {
    pubSub: createProgressPubSub(eventTarget),
    async close() {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
