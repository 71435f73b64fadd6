/**
 * The measured inputs of the capacity model in the README, on a 3-master Redis Cluster
 * started here from the installed binaries and one server process:
 *   - Redis CPU per commit (a progress mutation: one HMGET, then the commit script, which
 *     publishes the event with SPUBLISH)
 *     and per published message, from INFO commandstats and INFO cpu of every master;
 *   - API-instance CPU per delivery, from the server process' CPU time, as deployed:
 *     production mode, authentication on (a token per subscriber and one for the producer),
 *     subscribers on the client library's own `IngestJobStream`, starting after a snapshot's
 *     cursor;
 *   - Redis memory per event (log entry) and per entity (job; agent run with messages);
 *   - what an idempotency key adds: Redis time and CPU per commit with a key on every
 *     mutation, through the API (rounds without and with keys, alternating) and in Redis alone
 *     (the store's commits straight to the cluster, bench/key-cost.ts), and Redis memory per key.
 * Removes the cluster afterwards.
 *
 *   npm run bench:capacity
 *   CAPACITY_MUTATIONS=3000 CAPACITY_PROJECTS=30 CAPACITY_SUBSCRIBERS_PER_PROJECT=10 npm run bench:capacity
 */
import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import type { Redis } from 'ioredis';
import { IngestJobStream } from '../client/src/operations.js';
import { createRedisKeys } from '../src/store/redis-keys.js';
import { startRedisCluster } from '../tests/support/cluster.js';
import { createCluster } from '../tests/support/redis.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import { connectGraphqlWs, graphqlCaller } from './clients.js';
import { cpuSeconds, measureKeyCost, printKeyCost } from './key-cost.js';
import { startServerProcess } from './server-process.js';

const mutations = Number(process.env.CAPACITY_MUTATIONS ?? 3000);
const projectCount = Number(process.env.CAPACITY_PROJECTS ?? 30);
const subscribersPerProject = Number(process.env.CAPACITY_SUBSCRIBERS_PER_PROJECT ?? 10);
const concurrency = 16;
const prefix = 'rte-capacity:';

const CREATE = `mutation ($p: ID!) { createIngestJob(projectId: $p, source: "s3://raw-events/2026/11/23/orders.ndjson", totalItems: 100000) { id } }`;
const PROGRESS = `mutation ($id: ID!, $progress: Float!, $processed: Int, $message: String) {
  updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processed, message: $message) { id }
}`;
const START_RUN = `mutation ($p: ID!) { startAgentRun(projectId: $p, agent: "researcher") { id } }`;
const APPEND = `mutation ($runId: ID!, $content: String!) { appendAgentMessage(runId: $runId, role: ASSISTANT, content: $content) { id } }`;
const SNAPSHOT = `query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor } }`;

/** Every mutation and query of this benchmark carries the producer's token. */
const call = graphqlCaller(await signToken({ sub: 'capacity-producer', projects: ['*'], expiresIn: 3600 }));

/** `name:calls=…,usec=…` of INFO commandstats, summed over the given nodes. */
async function commandStats(nodes: Redis[]): Promise<Map<string, { calls: number; usec: number }>> {
  const totals = new Map<string, { calls: number; usec: number }>();
  for (const node of nodes) {
    for (const match of (await node.info('commandstats')).matchAll(/cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/g)) {
      const entry = totals.get(match[1]!) ?? { calls: 0, usec: 0 };
      entry.calls += Number(match[2]);
      entry.usec += Number(match[3]);
      totals.set(match[1]!, entry);
    }
  }
  return totals;
}

const cluster = await startRedisCluster({ masters: 3 });
const inspector = createCluster(cluster.nodes);
const server = await startServerProcess({
  NODE_ENV: 'production',
  AUTH_JWT_SECRET: TEST_SECRET,
  REDIS_CLUSTER_NODES: cluster.nodeList,
  REDIS_KEY_PREFIX: prefix,
  MUTATIONS_PER_SECOND: '100000',
});
const clients: Client[] = [];
try {
  await inspector.connect();
  const masters = inspector.nodes('master');
  const projects = Array.from({ length: projectCount }, (_, index) => `capacity-${index}`);
  const jobs = await Promise.all(projects.map(async (p) => (await call(server.url, CREATE, { p })).createIngestJob.id as string));

  let delivered = 0;
  const document = print(IngestJobStream);
  for (const projectId of projects) {
    const after = (await call(server.url, SNAPSHOT, { projectId })).projectSnapshot.cursor as string;
    for (let index = 0; index < subscribersPerProject; index++) {
      const token = await signToken({ sub: `capacity-viewer-${projectId}-${index}`, projects: [projectId], scope: 'events:read', expiresIn: 3600 });
      const client = await connectGraphqlWs(server.url, token);
      clients.push(client);
      client.subscribe({ query: document, variables: { projectId, after } }, { next: () => void delivered++, error: (error) => console.error(error), complete: () => {} });
    }
  }
  const expectedSubscribers = projects.length * subscribersPerProject;
  // A probe per project: every subscription is live once its probe arrived.
  await Promise.all(jobs.map((id) => call(server.url, PROGRESS, { id, progress: 0 })));
  while (delivered < expectedSubscribers) await new Promise((resolve) => setTimeout(resolve, 20));
  delivered = 0;

  /** One round of `count` progress mutations, 16 at a time, with a fresh idempotency key each when `keyed`. */
  async function progressRound(count: number, keyed: boolean) {
    await Promise.all(masters.map((node) => node.config('RESETSTAT')));
    const redisCpuBefore = await cpuSeconds(masters);
    const serverCpuBefore = server.cpuMs();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const index = next++;
          await call(
            server.url,
            PROGRESS,
            { id: jobs[index % jobs.length], progress: index / count, processed: index * 10, message: `read ${index * 10} of 100000 rows from orders.ndjson shard` },
            keyed ? { 'idempotency-key': randomUUID() } : {},
          );
        }
      }),
    );
    const serverCpuMs = server.cpuMs() - serverCpuBefore;
    const redisCpu = (await cpuSeconds(masters)) - redisCpuBefore;
    const stats = await commandStats(masters);
    const scriptUsec = (stats.get('evalsha')?.usec ?? 0) + (stats.get('hmget')?.usec ?? 0);
    return { serverCpuMs, redisCpu, stats, commitUsec: scriptUsec / count, processUsec: (redisCpu * 1e6) / count };
  }

  const round = await progressRound(mutations, false);
  const { serverCpuMs, redisCpu, stats } = round;
  const expectedDeliveries = mutations * subscribersPerProject;
  const deadline = Date.now() + 60_000;
  while (delivered < expectedDeliveries && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const perCall = (name: string) => {
    const entry = stats.get(name);
    return entry ? `${(entry.usec / entry.calls).toFixed(1)} µs × ${entry.calls}` : 'not called';
  };

  console.log(`3-master cluster, ${projects.length} projects, ${expectedSubscribers} WebSocket subscribers, ${mutations} progress mutations over HTTP`);
  console.log(`deliveries: ${delivered} of ${expectedDeliveries}`);
  console.log('\nRedis CPU (INFO commandstats, usec_per_call × calls, summed over masters):');
  for (const name of ['evalsha', 'hmget', 'spublish', 'hget', 'xadd', 'hincrby', 'hset', 'cluster|myid']) console.log(`  ${name.padEnd(14)} ${perCall(name)}`);
  console.log(`  per commit (commit script, its SPUBLISH included, + the read before it): ${round.commitUsec.toFixed(1)} µs`);
  console.log(`  per published message (SPUBLISH within the commit script, one subscriber connection per instance): ${perCall('spublish')}`);
  console.log(`  redis-server process CPU per mutation, all work incl. network: ${round.processUsec.toFixed(1)} µs`);
  console.log('\nAPI instance CPU (one server process, mutations and deliveries):');
  console.log(`  per mutation + its deliveries: ${((serverCpuMs * 1000) / mutations).toFixed(0)} µs`);
  console.log(`  per delivery (all of it charged to deliveries): ${((serverCpuMs * 1000) / Math.max(1, delivered)).toFixed(1)} µs`);

  // Idempotency keys through the API: rounds without and with, alternating, so drift and the
  // machine's other load fall on both; medians.
  const keyedCount = Math.max(1000, Math.floor(mutations / 2));
  const pairs = Number(process.env.CAPACITY_KEY_PAIRS ?? 3);
  const unkeyedRounds: Array<Awaited<ReturnType<typeof progressRound>>> = [];
  const keyedRounds: typeof unkeyedRounds = [];
  for (let pair = 0; pair < pairs; pair++) {
    unkeyedRounds.push(await progressRound(keyedCount, false));
    keyedRounds.push(await progressRound(keyedCount, true));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const compare = (label: string, of: (round: (typeof unkeyedRounds)[number]) => number) => {
    const without = median(unkeyedRounds.map(of));
    const withKey = median(keyedRounds.map(of));
    console.log(`  ${label}: without ${without.toFixed(1)} µs, with a key ${withKey.toFixed(1)} µs → +${((withKey / without - 1) * 100).toFixed(1)}%`);
  };
  console.log(`\nIdempotency keys through the API (${pairs} rounds each of ${keyedCount} progress mutations, alternating, medians):`);
  compare('Redis time per commit (script + read)', (round) => round.commitUsec);
  compare('redis-server CPU per mutation', (round) => round.processUsec);
  compare('server CPU per mutation', (round) => (round.serverCpuMs * 1000) / keyedCount);
  console.log('Idempotency keys in Redis alone (the store\'s commits straight to the cluster, no API server beside it; 10 alternating blocks, medians):');
  printKeyCost(await measureKeyCost(inspector, masters, { prefix: `${prefix}key-cost:` }));

  const keys = createRedisKeys(prefix);
  const memory = async (key: string) => Number((await inspector.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
  const logLength = await inspector.xlen(keys.log(projects[0]!));
  const logBytes = await memory(keys.log(projects[0]!));
  const runId = (await call(server.url, START_RUN, { p: 'capacity-runs' })).startAgentRun.id as string;
  for (let index = 0; index < 100; index++) await call(server.url, APPEND, { runId, content: `message ${index}: ${'x'.repeat(48)}` });
  const runBytes = (
    await Promise.all([keys.entity('agentRun', runId), keys.collection('messages', runId), keys.collection('messageIds', runId)].map(memory))
  ).reduce((a, b) => a + b, 0);
  console.log('\nRedis memory (MEMORY USAGE):');
  console.log(`  per event in a project's log: ${(logBytes / logLength).toFixed(0)} bytes (${logLength} events)`);
  console.log(`  per ingest job (its hash): ${await memory(keys.entity('ingestJob', jobs[0]!))} bytes, plus its index entry`);
  console.log(`  per agent run with 100 messages of 60 characters: ${runBytes} bytes (${(runBytes / 100).toFixed(0)} per message)`);
  const emptyHead = await memory(keys.head('capacity-runs'));
  console.log(`  per project head: ${emptyHead} bytes without idempotency records`);
  // A record is a field of its project's head: what the heads hold beyond an empty one, per record.
  let records = 0;
  let recordBytes = 0;
  for (const projectId of projects) {
    records += (await inspector.hkeys(keys.head(projectId))).filter((field) => /^\d+:/.test(field)).length;
    recordBytes += (await memory(keys.head(projectId))) - emptyHead;
  }
  console.log(`  per idempotency key (a progress answer, a field of its project's head; ${records} records): ${(recordBytes / Math.max(1, records)).toFixed(0)} bytes`);
} finally {
  await Promise.all(clients.map((client) => client.dispose()));
  await server.stop();
  await inspector.quit();
  await cluster.dispose();
}
