/**
 * What an idempotency key adds to a commit in Redis: the store's own commit script, called
 * by the store with no API server beside it, in alternating blocks with and without a key
 * (so drift and a neighbour's load fall on both), on the nodes the caller gives. Used by
 * `npm run bench:capacity` on its cluster; run alone it starts a `redis-server` of its own:
 *
 *   npx tsx bench/key-cost.ts
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { newEntityId } from '../src/store/entity-ids.js';
import { createRedisStateStore } from '../src/store/redis-state-store.js';
import { startPrivateRedis } from './private-redis.js';

export interface KeyCost {
  /** Commit script time (INFO commandstats) per commit, µs: medians of the blocks. */
  script: { without: number; with: number };
  /** redis-server CPU (INFO cpu, user + system) per commit, µs. */
  cpu: { without: number; with: number };
}

/** CPU seconds (user + system, all threads) the given nodes used so far. */
export async function cpuSeconds(nodes: Redis[]): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const info = await node.info('cpu');
    total += Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]);
  }
  return total;
}

async function scriptUsec(nodes: Redis[]): Promise<number> {
  let total = 0;
  for (const node of nodes) total += Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? 0);
  return total;
}

/**
 * Progress updates of 30 jobs in 30 projects, 16 at a time and one at a time per job, as
 * the change applier sends them; with a key, each has its own, answering the job as
 * committed, as a keyed mutation's record does.
 */
export async function measureKeyCost(client: Redis | Cluster, nodes: Redis[], options: { prefix: string; blocks?: number; perBlock?: number }): Promise<KeyCost> {
  const { prefix, blocks = 10, perBlock = 2000 } = options;
  const store = createRedisStateStore(client, { prefix, retention: { maxEvents: 10_000, maxAgeMs: 0, finishedMs: 3_600_000 } });
  const jobs = Array.from({ length: 30 }, (_, index) => {
    const projectId = `key-cost-${index}`;
    return { projectId, id: newEntityId(projectId), version: 0, busy: false };
  });
  const summary = (projectId: string, id: string, progress: number) => ({
    id,
    projectId,
    source: 's3://raw-events/2026/11/23/orders.ndjson',
    status: 'RUNNING',
    progress,
    message: `read ${Math.round(progress * 1e5)} of 100000 rows`,
    processedItems: Math.round(progress * 1e5),
    totalItems: 100_000,
    error: null,
    createdAt: '2026-12-02T12:00:00.000Z',
    updatedAt: new Date().toISOString(),
  });
  async function round(keyed: boolean) {
    await Promise.all(nodes.map((node) => node.config('RESETSTAT')));
    const cpuBefore = await cpuSeconds(nodes);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < perBlock) {
          const index = next++;
          const job = jobs[index % jobs.length]!;
          while (job.busy) await new Promise((resolve) => setImmediate(resolve));
          job.busy = true;
          const value = summary(job.projectId, job.id, index / perBlock);
          await store.commit({
            kind: 'ingestJob',
            id: job.id,
            projectId: job.projectId,
            expectedVersion: job.version,
            value: value as never,
            events: [{ type: 'INGEST_JOB_UPDATED', projectId: job.projectId, occurredAt: value.updatedAt, job: value } as never],
            idempotency: keyed ? { key: `${'s'.repeat(22)}:updateIngestJobProgress:${randomUUID()}`, fingerprint: 'f'.repeat(22), windowMs: 86_400_000 } : undefined,
          });
          job.version++;
          job.busy = false;
        }
      }),
    );
    return { script: (await scriptUsec(nodes)) / perBlock, cpu: (((await cpuSeconds(nodes)) - cpuBefore) * 1e6) / perBlock };
  }
  await round(false);
  const rounds: Record<'with' | 'without', Array<{ script: number; cpu: number }>> = { with: [], without: [] };
  for (let block = 0; block < blocks; block++) {
    const keyed = block % 2 === 1;
    rounds[keyed ? 'with' : 'without'].push(await round(keyed));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const of = (metric: 'script' | 'cpu') => ({ without: median(rounds.without.map((row) => row[metric])), with: median(rounds.with.map((row) => row[metric])) });
  return { script: of('script'), cpu: of('cpu') };
}

export function printKeyCost(cost: KeyCost): void {
  const line = (label: string, { without, with: withKey }: { without: number; with: number }) =>
    console.log(`  ${label}: without ${without.toFixed(1)} µs, with a key ${withKey.toFixed(1)} µs → +${((withKey / without - 1) * 100).toFixed(1)}%`);
  line('commit script time per commit', cost.script);
  line('redis-server CPU per commit', cost.cpu);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const redis = await startPrivateRedis();
  try {
    const blocks = Number(process.env.BENCH_BLOCKS ?? 10);
    console.log(`A key's cost in Redis alone (one redis-server; ${blocks} alternating blocks, medians):`);
    printKeyCost(await measureKeyCost(redis.client, [redis.client], { prefix: 'key-cost:', blocks }));
  } finally {
    await redis.stop();
  }
}
