import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';

/** The shared Redis every session and CI run has. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The nodes of the Redis Cluster the test run shares (see cluster-setup.ts). */
export function clusterNodes(): Array<{ host: string; port: number }> {
  return inject('redisClusterNodes')
    .split(',')
    .map((entry) => {
      const [host, port] = entry.split(':');
      return { host: host!, port: Number(port) };
    });
}

/** A client of the shared Redis Cluster; it connects on first use. */
export function createCluster(nodes = clusterNodes()): Cluster {
  return new Cluster(nodes, { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 2 } });
}

/** A key prefix no other test run uses, so a run touches and deletes only its own keys. */
export function uniquePrefix(label: string): string {
  return `rte-test:${label}:${randomBytes(5).toString('hex')}:`;
}

/** Deletes the keys under `prefix`, and nothing else; on a cluster, on every master. */
export async function deleteKeys(redis: Redis | Cluster, prefix: string): Promise<void> {
  if (redis instanceof Cluster) {
    if (redis.status === 'wait') await redis.connect();
    await Promise.all(redis.nodes('master').map((node) => deleteKeys(node, prefix)));
    return;
  }
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    // One key per command: a cluster node refuses a command over keys of several slots.
    if (keys.length) await Promise.all(keys.map((key) => redis.unlink(key)));
  } while (cursor !== '0');
}

/**
 * Subscribers on the channels under `prefix`, as Redis counts them; on a cluster, the
 * sharded channels, each counted on the master that owns it.
 */
export async function channelSubscribers(redis: Redis | Cluster, prefix: string): Promise<Record<string, number>> {
  if (redis instanceof Cluster) {
    if (redis.status === 'wait') await redis.connect();
    const perNode = await Promise.all(redis.nodes('master').map((node) => shardChannelSubscribers(node, prefix)));
    return Object.assign({}, ...perNode);
  }
  const channels = (await redis.pubsub('CHANNELS', `${prefix}*`)) as string[];
  if (channels.length === 0) return {};
  const reply = (await redis.pubsub('NUMSUB', ...channels)) as Array<string | number>;
  const counts: Record<string, number> = {};
  for (let index = 0; index < reply.length; index += 2) counts[String(reply[index])] = Number(reply[index + 1]);
  return counts;
}

/** Subscribers on the sharded channels under `prefix` that this one node serves. */
export async function shardChannelSubscribers(node: Redis, prefix: string): Promise<Record<string, number>> {
  const channels = (await node.pubsub('SHARDCHANNELS', `${prefix}*`)) as string[];
  if (channels.length === 0) return {};
  const reply = (await node.pubsub('SHARDNUMSUB', ...channels)) as Array<string | number>;
  const counts: Record<string, number> = {};
  for (let index = 0; index < reply.length; index += 2) counts[String(reply[index])] = Number(reply[index + 1]);
  return counts;
}

export function createRedis(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
}

/**
 * A key prefix of this test file's own and clients to inspect Redis and the Redis Cluster
 * with; after the file's tests, the keys under the prefix are deleted from both and the
 * clients are closed.
 */
export function redisForTests(label: string): { prefix: string; redis: Redis; cluster: Cluster } {
  const prefix = uniquePrefix(label);
  const redis = createRedis();
  const cluster = createCluster();
  afterAll(async () => {
    await Promise.all([deleteKeys(redis, prefix), deleteKeys(cluster, prefix)]);
    await Promise.all([redis.quit(), cluster.quit()]);
  });
  return { prefix, redis, cluster };
}
