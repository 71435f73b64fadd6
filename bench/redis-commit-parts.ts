/**
 * What the parts of a commit cost Redis, one at a time, on a `redis-server` of its own: the
 * commands a progress update's commit script runs beside the raw limit's (bench/write.ts),
 * each timed by INFO commandstats over many calls, in a project whose log is full
 * (EVENT_LOG_MAX_EVENTS entries, the default 10,000) as a busy project's is.
 *
 *   npx tsx bench/redis-commit-parts.ts
 */
import { startPrivateRedis } from './private-redis.js';

const calls = Number(process.env.BENCH_CALLS ?? 20_000);
const maxEvents = 10_000;
const event = JSON.stringify({
  type: 'INGEST_JOB_UPDATED',
  projectId: 'write-0',
  occurredAt: new Date().toISOString(),
  job: { id: 'j'.repeat(36), projectId: 'write-0', source: 'bench', status: 'RUNNING', progress: 0.5, message: 'read 1000 rows', processedItems: 1000, totalItems: null, error: null, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() },
});

const redis = await startPrivateRedis();
const client = redis.client;
try {
  /** Microseconds per call of `name` while `run` issues `calls` of it. */
  async function perCall(label: string, name: string, run: (index: number) => Promise<unknown>): Promise<void> {
    await redis.resetStats();
    for (let index = 0; index < calls; index += 100) await Promise.all(Array.from({ length: 100 }, (_, offset) => run(index + offset)));
    const entry = (await redis.commandStats()).get(name)!;
    console.log(`  ${label.padEnd(64)} ${(entry.usec / entry.calls).toFixed(2)} µs`);
  }
  let seq = 0;
  const fill = async (key: string) => {
    for (let index = 0; index < maxEvents; index += 500) {
      const pipeline = client.pipeline();
      for (let offset = 0; offset < 500; offset++) pipeline.xadd(key, `${++seq}-0`, 't', Date.now(), 'e', event);
      await pipeline.exec();
    }
  };
  await fill('exact');
  await fill('approx');
  // A job's hash and a project's finished set as a commit finds them: a summary, and entities leaving later.
  await client.hset('job', 'v', 41, 'd', JSON.parse(event).job ? JSON.stringify(JSON.parse(event).job) : '');
  for (let index = 0; index < 20; index++) await client.zadd('finished', Date.now() + 86_400_000 + index, `ingestJob:${index}`);
  console.log(`Per call, ${calls} calls each, a log of ${maxEvents} events of ${event.length} bytes:`);
  await perCall('XADD MAXLEN 10000 (exact, as the commit script trims)', 'xadd', () => client.xadd('exact', 'MAXLEN', maxEvents, `${++seq}-0`, 't', Date.now(), 'e', event));
  await perCall('XADD MAXLEN ~ 10000 (approximate)', 'xadd', () => client.xadd('approx', 'MAXLEN', '~', maxEvents, `${++seq}-0`, 't', Date.now(), 'e', event));
  await perCall('XRANGE - + COUNT 1 (trim_by_age looks at the oldest entry)', 'xrange', () => client.xrange('exact', '-', '+', 'COUNT', 1));
  await perCall('ZRANGEBYSCORE -inf now LIMIT 0 50, nothing due (purge_finished)', 'zrangebyscore', () => client.zrangebyscore('finished', '-inf', Date.now(), 'LIMIT', 0, 50));
  await perCall('HMGET v d x (the read before every commit)', 'hmget', () => client.hmget('job', 'v', 'd', 'x'));
  await perCall('HGET of one small field (what a "nothing due before" check costs)', 'hget', () => client.hget('head', 'due'));
  await perCall('PUBLISH, no subscriber', 'publish', () => client.publish('channel', event));
} finally {
  await redis.stop();
}
