import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { PubSub } from './events/pubsub.js';
import { createMemoryPubSub, createRedisPubSub } from './events/pubsub.js';
import type { Metrics } from './observability/metrics.js';
import { createMemoryStateStore } from './store/memory-state-store.js';
import { createRedisStateStore } from './store/redis-state-store.js';
import type { StateStore } from './store/state-store.js';

/** Where state, logs and fan-out live: this process, or Redis. Owns its Redis clients. */
export interface Backend {
  store: StateStore;
  pubsub: PubSub;
  /** Called when the PubSub connection is back after a loss; messages may have been missed. */
  onReconnect(listener: () => void): void;
  /** Why the backend cannot serve now; empty when it can. */
  problems(): string[];
  connect(): Promise<void>;
  close(): Promise<void>;
}

function redisOptions(config: Config): RedisOptions & { url?: string } {
  const common: RedisOptions = { lazyConnect: true, connectionName: 'realtime-events' };
  if (config.redisSentinels) {
    return { ...common, sentinels: config.redisSentinels, name: config.redisSentinelName };
  }
  return { ...common, url: config.redisUrl };
}

function createRedisClient(config: Config, extra: RedisOptions = {}): Redis {
  const { url, ...options } = redisOptions(config);
  return url ? new Redis(url, { ...options, ...extra }) : new Redis({ ...options, ...extra });
}

export function createBackend(config: Config, logger: Logger, metrics: Metrics): Backend {
  if (!config.redisUrl && !config.redisSentinels) {
    return {
      store: createMemoryStateStore(config.retention),
      pubsub: createMemoryPubSub(),
      onReconnect: () => {},
      problems: () => [],
      connect: async () => {},
      close: async () => {},
    };
  }
  // Commands fail at once while Redis is unreachable instead of queueing: a mutation is
  // then refused with SERVICE_UNAVAILABLE rather than left hanging or half-done.
  const commands = createRedisClient(config, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const subscriber = createRedisClient(config);
  const clients = [
    ['commands', commands],
    ['subscriber', subscriber],
  ] as const;
  for (const [role, client] of clients) {
    const up = metrics.redisUp.labels(role);
    up.set(0);
    client.on('error', (error: Error) => logger.warn({ role, err: error.message }, 'redis connection error'));
    client.on('ready', () => up.set(1));
    client.on('close', () => up.set(0));
  }
  return {
    store: createRedisStateStore(commands, { prefix: config.redisKeyPrefix, retention: config.retention }),
    pubsub: createRedisPubSub({
      publisher: commands,
      subscriber,
      onError: (error) => logger.warn({ err: (error as Error).message }, 'redis unsubscribe failed; the connection was lost and its subscriptions with it'),
    }),
    onReconnect(listener) {
      let connectedBefore = false;
      subscriber.on('ready', () => {
        if (!connectedBefore) {
          connectedBefore = true;
          return;
        }
        // ioredis emits 'ready' before it re-sends the SUBSCRIBEs; a PING queued after them
        // answers once they are in effect, and only then is the log read.
        setImmediate(() => {
          subscriber.ping().then(listener, (error: Error) => logger.warn({ err: error.message }, 'redis ping failed'));
        });
      });
    },
    problems: () =>
      clients.filter(([, client]) => client.status !== 'ready').map(([role, client]) => `redis ${role} connection is ${client.status}`),
    async connect() {
      await Promise.all([commands.connect(), subscriber.connect()]);
    },
    async close() {
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}
