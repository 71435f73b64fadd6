import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';

/** The shared Redis every session and CI run has. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test run uses, so a run touches and deletes only its own keys. */
export function uniquePrefix(label: string): string {
  return `rte-test:${label}:${randomBytes(5).toString('hex')}:`;
}

/** Deletes the keys under `prefix`, and nothing else. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** Subscribers on the channels under `prefix`, as Redis counts them. */
export async function channelSubscribers(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const channels = (await redis.pubsub('CHANNELS', `${prefix}*`)) as string[];
  if (channels.length === 0) return {};
  const reply = (await redis.pubsub('NUMSUB', ...channels)) as Array<string | number>;
  const counts: Record<string, number> = {};
  for (let index = 0; index < reply.length; index += 2) counts[String(reply[index])] = Number(reply[index + 1]);
  return counts;
}

export function createRedis(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
}

/**
 * A key prefix of this test file's own and a client to inspect Redis with; after the file's
 * tests, the keys under the prefix are deleted and the client is closed.
 */
export function redisForTests(label: string): { prefix: string; redis: Redis } {
  const prefix = uniquePrefix(label);
  const redis = createRedis();
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });
  return { prefix, redis };
}
