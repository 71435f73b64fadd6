/**
 * Redis memory taken by one project's event log per 1,000 events, for capacity planning.
 * Appends progress events of a realistic job through the real store and asks Redis what
 * the log stream uses. Cleans up its own keys.
 *
 *   npm run bench:log-memory            (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { newEntityId } from '../src/store/entity-ids.js';
import { createRedisKeys } from '../src/store/redis-keys.js';
import { createRedisStateStore } from '../src/store/redis-state-store.js';
import { deleteKeys } from '../tests/support/redis.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `rte-bench-memory:${randomBytes(4).toString('hex')}:`;
const store = createRedisStateStore(redis, { prefix, retention: { maxEvents: 0, maxAgeMs: 0, finishedMs: 0 } });

async function measure(label: string, count: number, message: (index: number) => string) {
  const projectId = `memory-${label}`;
  const at = new Date().toISOString();
  let job = {
    id: newEntityId(projectId),
    projectId,
    source: 's3://raw-events/2026/11/23/orders.ndjson',
    status: 'RUNNING' as const,
    progress: 0,
    message: null as string | null,
    processedItems: 0,
    totalItems: 100_000,
    error: null,
    createdAt: at,
    updatedAt: at,
  };
  for (let index = 0; index < count; index++) {
    const next = { ...job, progress: index / count, processedItems: index * 100, message: message(index), updatedAt: new Date().toISOString() };
    await store.commit({
      kind: 'ingestJob',
      id: job.id,
      projectId,
      expectedVersion: index,
      value: next,
      events: [{ type: index === 0 ? 'INGEST_JOB_CREATED' : 'INGEST_JOB_UPDATED', projectId, occurredAt: next.updatedAt, job: next }],
    });
    job = next;
  }
  const bytes = Number(await redis.memory('USAGE', createRedisKeys(prefix).log(projectId), 'SAMPLES', 0));
  console.log(`${label.padEnd(28)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB per ${count} events, ${(bytes / count).toFixed(0)} bytes each`);
}

try {
  console.log('Redis memory of one project’s event log (MEMORY USAGE of the stream):');
  await measure('ingest progress, no message', 1000, () => '');
  await measure('ingest progress, 60-char msg', 1000, (index) => `read ${index * 100} of 100000 rows from orders.ndjson shard`);
} finally {
  await deleteKeys(redis, prefix);
  await redis.quit();
}
