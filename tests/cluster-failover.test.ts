import type { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { connectWebSocket, mutate, request, subscribeOverWebSocket } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import { CREATE_JOB, PROJECT_STREAM, UPDATE_PROGRESS, cursorSeq } from './support/operations.js';
import type { RedisClusterProcesses } from './support/cluster.js';
import { shardsOfProjects, startRedisCluster } from './support/cluster.js';
import { createCluster, uniquePrefix } from './support/redis.js';
import { createAppPool, testConfig } from './support/servers.js';
import { createTeardown } from './support/teardown.js';
import { waitFor } from './support/wait-for.js';

/**
 * A 3-master, 3-replica cluster of this file's own. Replicas never promote themselves
 * (`cluster-replica-no-failover`): the test promotes one with CLUSTER FAILOVER FORCE once it
 * has shown what happens while a shard has no master, so nothing depends on how long
 * failure detection takes. `cluster-require-full-coverage no` lets the other shards serve
 * meanwhile, as a deployment that wants partial availability configures it.
 */
let redisCluster: RedisClusterProcesses;
let inspector: Cluster;
const prefix = uniquePrefix('failover');
const pool = createAppPool();
afterEach(() => pool.stopAll());
const teardown = createTeardown();

beforeAll(async () => {
  redisCluster = await startRedisCluster({
    masters: 3,
    replicasPerMaster: 1,
    extraArgs: ['--cluster-replica-no-failover', 'yes', '--cluster-require-full-coverage', 'no', '--enable-debug-command', 'local'],
  });
  inspector = createCluster(redisCluster.nodes);
}, 30_000);
afterAll(async () => {
  await inspector?.quit();
  await redisCluster?.dispose();
});

const startApp = () => pool.start({ ...testConfig('cluster', prefix), redisClusterNodes: redisCluster.nodes });

/** The master of `address` and the replica that follows it. */
async function shardNodes(address: string) {
  const masterPort = Number(address.split(':')[1]);
  const nodes = String(await redisCluster.node(masterPort).cluster('NODES')).trim().split('\n');
  const masterId = nodes.find((line) => line.includes(`:${masterPort}@`))!.split(' ')[0]!;
  const replicaLine = nodes.find((line) => {
    const [, , flags, master] = line.split(' ');
    return master === masterId && !flags!.split(',').some((flag) => flag === 'fail' || flag === 'fail?');
  });
  return { masterPort, replicaPort: replicaLine ? Number(/:(\d+)@/.exec(replicaLine)![1]) : undefined };
}

/** The replica takes over its dead master's slots; resolves once every live node agrees. */
async function promote(replicaPort: number) {
  await redisCluster.node(replicaPort).cluster('FAILOVER', 'FORCE');
  await waitFor(async () => /role:master/.test(await redisCluster.node(replicaPort).info('replication')), {
    timeoutMs: 15_000,
    what: `the replica on ${replicaPort} to become master`,
  });
  await waitFor(
    async () => {
      for (const { port } of redisCluster.nodes) {
        const info = await redisCluster.node(port).cluster('INFO').catch(() => undefined);
        if (info !== undefined && !/cluster_state:ok/.test(String(info))) return false;
      }
      return true;
    },
    { timeoutMs: 15_000, what: 'every live node to see the promotion' },
  );
}

function follow(app: App, projectId: string) {
  const client = connectWebSocket(app.url);
  teardown.push(() => client.dispose());
  const stream = subscribeOverWebSocket<ProjectEvent>(client, PROJECT_STREAM, { projectId });
  teardown.push(() => stream.dispose());
  return stream;
}

/** Updates a job and says whether the change was acknowledged, or the code it was refused with. */
async function update(app: App, jobId: string, progress: number): Promise<true | string> {
  const result = await request(app.url, UPDATE_PROGRESS, { id: jobId, progress });
  return result.errors ? String(result.errors[0]!.extensions?.code) : true;
}

const positions = (stream: ReturnType<typeof follow>) => stream.results.map((result) => cursorSeq(result.projectEvents.cursor));
const epochs = (stream: ReturnType<typeof follow>) => new Set(stream.results.map((result) => result.projectEvents.cursor.split(':')[0]));

describe('a Redis Cluster shard losing its master', () => {
  it('keeps the other shards serving without a pause, and its own projects resume once the replica is promoted', async () => {
    const [subscriberSide, publisherSide] = await Promise.all([startApp(), startApp()]);
    const projects = ['fo-a', 'fo-b', 'fo-c', 'fo-d', 'fo-e', 'fo-f', 'fo-g', 'fo-h'];
    const shardOf = await shardsOfProjects(inspector, projects);
    const victimShard = shardOf.get(projects[0]!)!;
    const victims = projects.filter((projectId) => shardOf.get(projectId) === victimShard);
    const survivors = projects.filter((projectId) => shardOf.get(projectId) !== victimShard);
    expect(new Set(survivors.map((projectId) => shardOf.get(projectId))).size).toBe(2);

    const streams = new Map(projects.map((projectId) => [projectId, follow(subscriberSide, projectId)]));
    await waitFor(() => subscriberSide.feeds.subscriberCount() === projects.length, { what: 'every subscriber' });
    const jobs = new Map<string, string>();
    for (const projectId of projects) {
      jobs.set(projectId, (await mutate(publisherSide.url, CREATE_JOB, { projectId, source: projectId })).createIngestJob.id);
    }
    let progress = 0;
    const publishEverywhere = async (times: number) => {
      for (let count = 0; count < times; count++) {
        await Promise.all(projects.map((projectId) => mutate(publisherSide.url, UPDATE_PROGRESS, { id: jobs.get(projectId)!, progress: ++progress / 10_000 })));
      }
    };
    await publishEverywhere(10);
    for (const stream of streams.values()) await stream.waitForResults(11);

    const { masterPort, replicaPort } = await shardNodes(victimShard);
    await redisCluster.kill(masterPort);

    // While the shard has no master: its projects' changes are refused, not acknowledged...
    for (const projectId of victims) expect(await update(publisherSide, jobs.get(projectId)!, 0.5)).toBe('SERVICE_UNAVAILABLE');
    // ...and the other shards' projects go on, every change acknowledged and delivered live.
    for (let count = 0; count < 10; count++) {
      for (const projectId of survivors) expect(await update(publisherSide, jobs.get(projectId)!, ++progress / 10_000)).toBe(true);
    }
    for (const projectId of survivors) await streams.get(projectId)!.waitForResults(21);
    // Still no master there: what the other shards did happened during the outage.
    expect(await update(publisherSide, jobs.get(victims[0]!)!, 0.5)).toBe('SERVICE_UNAVAILABLE');

    await promote(replicaPort!);
    // The promoted master accepts the failed shard's projects again; their subscribers, still
    // connected, receive every change it acknowledges from then on, in order.
    for (const projectId of victims) {
      await waitFor(async () => (await update(publisherSide, jobs.get(projectId)!, 0.6)) === true, {
        timeoutMs: 15_000,
        what: `${projectId} to accept changes again`,
      });
    }
    await publishEverywhere(10);

    for (const projectId of survivors) {
      const stream = streams.get(projectId)!;
      await stream.waitForResults(31);
      expect(positions(stream)).toEqual(Array.from({ length: 31 }, (_, index) => index + 1));
      expect(epochs(stream).size).toBe(1);
      expect(stream.errors).toEqual([]);
    }
    for (const projectId of victims) {
      const stream = streams.get(projectId)!;
      // 11 before the failure; then the first accepted change and 10 more, under a new epoch
      // (the promoted master cannot know whether it has every event its predecessor
      // acknowledged, so positions start over rather than be handed out twice).
      await stream.waitForResults(22, 15_000);
      const [before, after] = [stream.results.slice(0, 11), stream.results.slice(11)];
      expect(before.map((result) => cursorSeq(result.projectEvents.cursor))).toEqual(Array.from({ length: 11 }, (_, index) => index + 1));
      expect(after.map((result) => cursorSeq(result.projectEvents.cursor))).toEqual(Array.from({ length: 11 }, (_, index) => index + 1));
      expect(stream.errors).toEqual([]);
    }
  });

  it('surfaces acknowledged changes the promoted replica never received as CURSOR_EXPIRED, never as a silent gap', async () => {
    const app = await startApp();
    // A project on a shard that still has its replica (the test above used one up).
    const candidates = Array.from({ length: 20 }, (_, index) => `lossy-${index}`);
    const shardOf = await shardsOfProjects(inspector, candidates);
    let projectId = '';
    let shard: Awaited<ReturnType<typeof shardNodes>> | undefined;
    for (const candidate of candidates) {
      shard = await shardNodes(shardOf.get(candidate)!);
      projectId = candidate;
      if (shard.replicaPort !== undefined) break;
    }
    const { masterPort } = shard!;
    const replicaPort = shard!.replicaPort!;
    const stream = follow(app, projectId);
    await waitFor(() => app.feeds.subscriberCount(projectId) === 1, { what: 'the subscriber' });
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'lossy' })).createIngestJob;
    for (let step = 1; step <= 5; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 100 });
    await stream.waitForResults(6);
    const master = redisCluster.node(masterPort);
    const replica = redisCluster.node(replicaPort);
    const offset = async (node: typeof master, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(await node.info('replication'))![1]);
    await waitFor(async () => (await offset(replica, 'slave_repl_offset')) === (await offset(master, 'master_repl_offset')), {
      what: 'the replica to hold the first six events',
    });

    // Cut replication deterministically: the replica drops its link and cannot log in again,
    // so whatever the master acknowledges from now on exists on the master alone.
    await replica.config('SET', 'masterauth', 'not-the-password');
    await replica.client('KILL', 'TYPE', 'master');
    await waitFor(async () => /master_link_status:down/.test(await replica.info('replication')), { what: 'the replication link to drop' });
    for (let step = 6; step <= 8; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 100 });
    await stream.waitForResults(9);
    const lostCursor = stream.results.at(-1)!.projectEvents.cursor;
    const survivedCursor = stream.results[5]!.projectEvents.cursor;
    expect(await offset(replica, 'slave_repl_offset')).toBeLessThan(await offset(master, 'master_repl_offset'));

    await redisCluster.kill(masterPort);
    await promote(replicaPort);

    // The three acknowledged updates are gone with the master: the job is as the replica knew it.
    await waitFor(async () => (await update(app, job.id, 0.5)) === true, { timeoutMs: 15_000, what: 'the shard to accept changes again' });
    await stream.waitForResults(10);
    const resumedAfter = async (after: string) => {
      const client = connectWebSocket(app.url);
      teardown.push(() => client.dispose());
      const resumed = subscribeOverWebSocket<ProjectEvent>(client, PROJECT_STREAM, { projectId, after });
      teardown.push(() => resumed.dispose());
      return (await resumed.waitForError()) as Array<{ extensions?: { code?: string } }>;
    };
    // Neither a cursor of a lost event nor one of a surviving event resumes over positions
    // that now mean something else: both are told to reload.
    expect((await resumedAfter(lostCursor))[0]!.extensions?.code).toBe('CURSOR_EXPIRED');
    expect((await resumedAfter(survivedCursor))[0]!.extensions?.code).toBe('CURSOR_EXPIRED');
    // The live subscriber is told by the epoch: the change after the failover starts a new one.
    const last = stream.results.at(-1)!.projectEvents;
    expect(last.cursor.split(':')[0]).not.toBe(lostCursor.split(':')[0]);
    expect(cursorSeq(last.cursor)).toBe(1);
    expect(last.job!.progress).toBe(0.5);
  });
});
