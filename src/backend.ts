import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { PubSub } from './events/pubsub.js';
import { createMemoryPubSub, createRedisPubSub, createShardedRedisPubSub, projectChannel } from './events/pubsub.js';
import type { Metrics } from './observability/metrics.js';
import { createMemoryStateStore } from './store/memory-state-store.js';
import { createRedisStateStore } from './store/redis-state-store.js';
import type { StateStore } from './store/state-store.js';

/** Where state, logs and fan-out live: this process, Redis, or a Redis Cluster. Owns its Redis clients. */
export interface Backend {
  /** Commits and logs changes, and publishes each logged event on its project's channel. */
  store: StateStore;
  /** Where instances hear the events the store published. */
  pubsub: PubSub;
  /** The PubSub channel of a project's events. */
  channelFor(projectId: string): string;
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

function createClusterClient(nodes: NonNullable<Config['redisClusterNodes']>, options: ClusterOptions): Cluster {
  return new Cluster(nodes, {
    lazyConnect: true,
    ...options,
    redisOptions: { connectionName: 'realtime-events', ...options.redisOptions },
  });
}

export function createBackend(config: Config, logger: Logger, metrics: Metrics): Backend {
  const sharded = config.redisClusterNodes !== undefined;
  const channelFor = (projectId: string) => projectChannel(config.redisKeyPrefix, projectId, sharded);
  const { abandonedAfterMs } = config.producing;
  if (!config.redisUrl && !config.redisSentinels && !config.redisClusterNodes) {
    const pubsub = createMemoryPubSub();
    return {
      store: createMemoryStateStore(config.retention, config.now, (event) => void pubsub.publish(channelFor(event.projectId), event), {
        trackActivity: abandonedAfterMs > 0,
      }),
      pubsub,
      channelFor,
      onReconnect: () => {},
      problems: () => [],
      connect: async () => {},
      close: async () => {},
    };
  }
  // Commands fail at once while Redis is unreachable instead of queueing: a mutation is
  // then refused with SERVICE_UNAVAILABLE rather than left hanging or half-done. On a
  // cluster that holds per shard: a shard without a master refuses, the others serve.
  // On one Redis, the commands issued in one turn of the event loop (the pieces of text of
  // many producers, say) go out in one write: auto-pipelining. On a cluster, ioredis
  // refuses such a pipeline when its keys span slots of different groups, so the cluster
  // client sends each command as it comes.
  // Every command has a deadline: a Redis that stalls (paused, swapping, a long script)
  // fails the commands waiting on it instead of leaving their callers hanging.
  // The cluster client sends a command again when its connection closed under it, though
  // the command may have run: the scripts that change state carry an attempt id and answer
  // such a resend with what the first run did (see COMMIT_SCRIPT).
  const commandTimeout = config.redisCommandTimeoutMs;
  // Given only when set: ioredis reads an explicit undefined as a map, not as its default.
  const natMap = config.redisClusterNatMap ? { natMap: config.redisClusterNatMap } : {};
  const commands = config.redisClusterNodes
    ? createClusterClient(config.redisClusterNodes, {
        enableOfflineQueue: false,
        ...natMap,
        redisOptions: { maxRetriesPerRequest: 0, commandTimeout },
      })
    : createRedisClient(config, { enableOfflineQueue: false, enableAutoPipelining: true, maxRetriesPerRequest: 0, commandTimeout });
  // On a cluster: one subscriber connection per master, each holding the sharded channels
  // of the slots that master owns.
  const subscriber = config.redisClusterNodes
    ? createClusterClient(config.redisClusterNodes, { shardedSubscribers: true, ...natMap })
    : createRedisClient(config);
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
  const probe = createResponsivenessProbe(
    () => (commands instanceof Cluster ? Promise.all(commands.nodes('master').map((node) => node.ping())) : commands.ping()),
    commandTimeout,
  );
  const onUnsubscribeError = (error: unknown) =>
    logger.warn({ err: (error as Error).message }, 'redis unsubscribe failed; the connection was lost and its subscriptions with it');
  return {
    store: createRedisStateStore(commands, {
      prefix: config.redisKeyPrefix,
      retention: config.retention,
      now: config.now,
      activity: abandonedAfterMs > 0 ? { registerEveryMs: abandonedAfterMs / 4 } : undefined,
      idempotencyWindowMs: config.producing.idempotencyWindowMs,
    }),
    pubsub:
      commands instanceof Cluster && subscriber instanceof Cluster
        ? createShardedRedisPubSub({ publisher: commands, subscriber, onError: onUnsubscribeError })
        : createRedisPubSub({ publisher: commands as Redis, subscriber: subscriber as Redis, onError: onUnsubscribeError }),
    channelFor,
    onReconnect(listener) {
      if (subscriber instanceof Cluster) {
        // A shard's sharded subscriber is replaced when its master changes (failover, slot
        // moves) and resubscribes without saying which channels were down: every feed then
        // reads what it may have missed. An event published before the SSUBSCRIBE is back in
        // effect is found by the next event's gap check or the feed's idle check.
        let connectedBefore = false;
        subscriber.on('subscribersReady', () => {
          if (!connectedBefore) {
            connectedBefore = true;
            return;
          }
          listener();
        });
        return;
      }
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
    problems: () => [
      ...clients.filter(([, client]) => client.status !== 'ready').map(([role, client]) => `redis ${role} connection is ${client.status}`),
      ...probe.problems(),
    ],
    async connect() {
      await Promise.all([commands.connect(), subscriber.connect()]);
      probe.start();
    },
    async close() {
      probe.stop();
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}

/**
 * Whether Redis answers in time. A stalled Redis keeps its connections open, so their status
 * says nothing: a PING every half second (at most one outstanding) does, and until one
 * answers within the command deadline, the instance is not ready.
 */
function createResponsivenessProbe(ping: () => Promise<unknown>, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  let pendingSince: number | undefined;
  let failed = false;
  const check = () => {
    if (pendingSince !== undefined) return;
    pendingSince = Date.now();
    ping().then(
      () => (failed = false),
      () => (failed = true),
    ).finally(() => (pendingSince = undefined));
  };
  return {
    start() {
      timer ??= setInterval(check, 500).unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    problems(): string[] {
      const late = pendingSince !== undefined && Date.now() - pendingSince > timeoutMs;
      return failed || late ? [`redis did not answer within ${timeoutMs} ms`] : [];
    },
  };
}
