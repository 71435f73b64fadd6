import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Cluster, Redis } from 'ioredis';
import { createRedisKeys } from '../store/redis-keys.js';
import type { EventRecord } from './event-record.js';

/**
 * The fan-out between server instances. Its shape is `graphql-redis-subscriptions`'
 * `RedisPubSub`, so the Redis backend is that class as it is and the in-process backend is
 * a small twin of it.
 */
export interface PubSub {
  publish(channel: string, message: EventRecord): Promise<void>;
  /**
   * Resolves with a subscription id once the subscription is active: with Redis, once the
   * SUBSCRIBE was acknowledged, so a message published after that is never missed.
   */
  subscribe(channel: string, onMessage: (message: unknown) => void): Promise<number>;
  /** Releases the subscription; the last one on a channel releases the channel itself. */
  unsubscribe(subscriptionId: number): void;
}

/**
 * Channels carry the key prefix so several deployments (and test runs) can share one Redis.
 * A sharded channel (Redis Cluster) also carries the project's slot tag.
 */
export function projectChannel(prefix: string, projectId: string, sharded = false): string {
  return createRedisKeys(prefix).channel(projectId, sharded);
}

/**
 * `RedisPubSub` over clients the caller owns and closes. `publisher` also serves commands;
 * `subscriber` is put into subscriber mode and serves nothing else.
 */
export function createRedisPubSub(clients: {
  publisher: Redis;
  subscriber: Redis;
  /** Receives failures of unsubscribe commands, which RedisPubSub sends and never awaits. */
  onError?: (error: unknown) => void;
}): PubSub {
  const { subscriber, onError = () => {} } = clients;
  // RedisPubSub fires UNSUBSCRIBE and PUNSUBSCRIBE without handling their promises; while
  // Redis is unreachable they reject, and that rejection must not go unhandled.
  const guarded = new Proxy(subscriber, {
    get(target, property, receiver) {
      if (property === 'unsubscribe' || property === 'punsubscribe') {
        return (...channels: string[]) => target[property](...channels).catch(onError);
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return new RedisPubSub({ publisher: clients.publisher, subscriber: guarded });
}

/**
 * `RedisPubSub` over Redis Cluster's sharded pub/sub: SPUBLISH and SSUBSCRIBE route a
 * channel to the shard that owns its slot, where classic PUBLISH is broadcast to every node
 * of the cluster. `RedisPubSub` itself is unchanged; its clients are wrapped so that its
 * publish, subscribe and unsubscribe become the sharded commands and it listens for
 * `smessage`. The subscriber must be a Cluster created with `shardedSubscribers: true`.
 */
export function createShardedRedisPubSub(clients: {
  publisher: Cluster;
  subscriber: Cluster;
  /** Receives failures of unsubscribe commands, which RedisPubSub sends and never awaits. */
  onError?: (error: unknown) => void;
}): PubSub {
  const { onError = () => {} } = clients;
  const subscriber = new Proxy(clients.subscriber, {
    get(target, property, receiver) {
      switch (property) {
        case 'subscribe':
          return (channel: string, callback: (error?: Error | null) => void) => target.ssubscribe(channel, callback);
        case 'unsubscribe':
          return (...channels: string[]) => target.sunsubscribe(...channels).catch(onError);
        case 'punsubscribe':
          // RedisPubSub leaves patterns it never subscribed to; sharded channels have none.
          return async () => {};
        default:
          return Reflect.get(target, property, receiver);
      }
    },
  });
  const publisher = new Proxy(clients.publisher, {
    get(target, property, receiver) {
      if (property === 'publish') return (channel: string, message: string) => target.spublish(channel, message);
      return Reflect.get(target, property, receiver);
    },
  });
  return new RedisPubSub({ publisher, subscriber, messageEventName: 'smessage' });
}

/** The in-process backend: delivers synchronously, in publish order. */
export function createMemoryPubSub(): PubSub {
  const channels = new Map<string, Map<number, (message: unknown) => void>>();
  const channelOf = new Map<number, string>();
  let nextId = 0;
  return {
    async publish(channel, message) {
      const listeners = channels.get(channel);
      if (!listeners) return;
      for (const listener of listeners.values()) listener(message);
    },
    async subscribe(channel, onMessage) {
      const id = nextId++;
      let listeners = channels.get(channel);
      if (!listeners) channels.set(channel, (listeners = new Map()));
      listeners.set(id, onMessage);
      channelOf.set(id, channel);
      return id;
    },
    unsubscribe(subscriptionId) {
      const channel = channelOf.get(subscriptionId);
      if (channel === undefined) throw new Error(`There is no subscription of id "${subscriptionId}"`);
      channelOf.delete(subscriptionId);
      const listeners = channels.get(channel)!;
      listeners.delete(subscriptionId);
      if (listeners.size === 0) channels.delete(channel);
    },
  };
}
