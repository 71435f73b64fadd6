import type { Client } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { connectWebSocket, mutate, request, subscribeOverSse, subscribeOverWebSocket } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import { CREATE_JOB, JOB, JOBS, PROJECT_STREAM, START_RUN, UPDATE_PROGRESS, cursorSeq } from './support/operations.js';
import { projectChannel } from '../src/events/pubsub.js';
import { projectsOnEveryShard } from './support/cluster.js';
import { channelSubscribers, shardChannelSubscribers, redisForTests } from './support/redis.js';
import type { Backend } from './support/servers.js';
import { createAppPool, testConfig } from './support/servers.js';
import { waitFor } from './support/wait-for.js';

const { prefix, redis, cluster } = redisForTests('instances');
const pool = createAppPool();
const clients: Client[] = [];
const disposers: Array<() => void> = [];
afterEach(async () => {
  disposers.splice(0).forEach((dispose) => dispose());
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  await pool.stopAll();
});


function subscribeWs(app: App, projectId: string) {
  const client = connectWebSocket(app.url);
  clients.push(client);
  return subscribeOverWebSocket<ProjectEvent>(client, PROJECT_STREAM, { projectId });
}

describe.each<[string, Exclude<Backend, 'memory'>]>([
  ['one Redis', 'redis'],
  ['a Redis Cluster', 'cluster'],
])('two instances sharing %s', (_, backend) => {
  const startTwo = () => Promise.all([pool.start(testConfig(backend, prefix)), pool.start(testConfig(backend, prefix))]);
  const sharded = backend === 'cluster';

  it("deliver a mutation accepted by one to the other's WebSocket and SSE subscribers", async () => {
    const [a, b] = await startTwo();
    const projectId = 'shared';
    const onB = subscribeWs(b, projectId);
    const onBSse = subscribeOverSse<ProjectEvent>(b.url, PROJECT_STREAM, { projectId });
    disposers.push(() => onBSse.dispose());
    await waitFor(() => b.subscriberCount() === 2, { what: 'subscribers on instance B' });

    const job = (await mutate(a.url, CREATE_JOB, { projectId, source: 'from-a' })).createIngestJob;
    await mutate(b.url, UPDATE_PROGRESS, { id: job.id, progress: 0.4 });
    for (const subscription of [onB, onBSse]) {
      const received = (await subscription.waitForResults(2)).map((result) => result.projectEvents);
      expect(received.map((event) => [event.type, event.job?.id])).toEqual([
        ['INGEST_JOB_CREATED', job.id],
        ['INGEST_JOB_UPDATED', job.id],
      ]);
    }
    // Both instances answer queries from the same state.
    for (const app of [a, b]) {
      expect((await request(app.url, JOB, { id: job.id })).data!.ingestJob).toMatchObject({ progress: 0.4 });
      expect((await request(app.url, JOBS, { projectId })).data!.ingestJobs).toHaveLength(1);
    }
  });

  it('subscribe in Redis only to the projects they have subscribers for', async () => {
    const [a, b] = await startTwo();
    subscribeWs(a, 'only-on-a');
    subscribeWs(b, 'on-both');
    subscribeWs(a, 'on-both');
    await waitFor(() => a.feeds.subscriberCount() === 2 && b.feeds.subscriberCount() === 1, { what: 'subscribers' });
    expect(await channelSubscribers(sharded ? cluster : redis, prefix)).toEqual({
      [projectChannel(prefix, 'only-on-a', sharded)]: 1,
      [projectChannel(prefix, 'on-both', sharded)]: 2,
    });
  });

  it('give every subscriber one ordered, gapless stream while both accept changes to one project concurrently', async () => {
    const [a, b] = await startTwo();
    const projectId = 'contended';
    const onA = subscribeWs(a, projectId);
    const onB = subscribeWs(b, projectId);
    await waitFor(() => a.feeds.subscriberCount(projectId) === 1 && b.feeds.subscriberCount(projectId) === 1, {
      what: 'a subscriber on each instance',
    });
    const job = (await mutate(a.url, CREATE_JOB, { projectId, source: 'contended', totalItems: 200 })).createIngestJob;
    // 100 progress updates of one job, alternating instances, all in flight at once: every
    // update must be kept (no lost write) and given its own position.
    await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        mutate((index % 2 ? a : b).url, UPDATE_PROGRESS, { id: job.id, progress: 0.5, processedItems: index + 1 }),
      ),
    );
    for (const subscription of [onA, onB]) {
      const received = (await subscription.waitForResults(101)).map((result) => result.projectEvents);
      const positions = received.map((event) => cursorSeq(event.cursor));
      expect(positions).toEqual(positions.map((_, index) => positions[0]! + index));
    }
    expect(onA.results.map((result) => result.projectEvents.cursor)).toEqual(
      onB.results.map((result) => result.projectEvents.cursor),
    );
    const processed = onA.results.slice(1).map((result) => result.projectEvents);
    expect(new Set(processed.map((event) => event.cursor)).size).toBe(100);
  });

  it('stream one message from a producer whose deltas land on both instances to subscribers on both, batched and exact', async () => {
    const [a, b] = await Promise.all([
      pool.start(testConfig(backend, prefix, { agentDeltaWindowMs: 200 })),
      pool.start(testConfig(backend, prefix, { agentDeltaWindowMs: 200 })),
    ]);
    const projectId = 'streamed-across';
    const STREAM = `subscription ($projectId: ID!) {
      agentRun(projectId: $projectId) { cursor type message { id content status } messageDelta { messageId offset text } }
    }`;
    const streams = [a, b].map((app) => {
      const client = connectWebSocket(app.url);
      clients.push(client);
      return subscribeOverWebSocket<any>(client, STREAM, { projectId });
    });
    await waitFor(() => a.feeds.subscriberCount(projectId) === 1 && b.feeds.subscriberCount(projectId) === 1, {
      what: 'a subscriber on each instance',
    });
    const run = (await mutate(a.url, START_RUN, { projectId, agent: 'writer' })).startAgentRun;
    const message = (
      await mutate(b.url, `mutation ($runId: ID!) { startAgentMessage(runId: $runId, role: ASSISTANT) { id } }`, { runId: run.id })
    ).startAgentMessage;
    const pieces = Array.from({ length: 30 }, (_, index) => `${index}:${'·'.repeat(index % 4)} `);
    for (const [index, text] of pieces.entries()) {
      await mutate((index % 2 ? a : b).url, `mutation ($runId: ID!, $messageId: ID!, $text: String!) {
        appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text) { id }
      }`, { runId: run.id, messageId: message.id, text });
    }
    await mutate(a.url, `mutation ($runId: ID!, $messageId: ID!) { finishAgentMessage(runId: $runId, messageId: $messageId) { id } }`, {
      runId: run.id,
      messageId: message.id,
    });
    for (const stream of streams) {
      await waitFor(() => stream.results.some((result) => result.agentRun.type === 'AGENT_MESSAGE_COMPLETED'), { what: 'the completion' });
      const events = stream.results.map((result) => result.agentRun);
      const deltas = events.filter((event) => event.type === 'AGENT_MESSAGE_DELTA');
      expect(deltas.length).toBeLessThan(pieces.length);
      let offset = 0;
      for (const delta of deltas) {
        expect(delta.messageDelta.offset).toBe(offset);
        offset += delta.messageDelta.text.length;
      }
      expect(deltas.map((event) => event.messageDelta.text).join('')).toBe(pieces.join(''));
      expect(events.at(-1)!.message).toEqual({ id: message.id, content: pieces.join(''), status: 'COMPLETE' });
    }
    expect(streams[0]!.results.map((result) => result.agentRun.cursor)).toEqual(streams[1]!.results.map((result) => result.agentRun.cursor));
  });
});

describe('three instances on a 3-master Redis Cluster', () => {
  it('give every subscriber every event of its project once, in order, with projects on every shard and publishers on all three', async () => {
    const apps = await Promise.all([0, 1, 2].map(() => pool.start(testConfig('cluster', prefix))));
    const projects = await projectsOnEveryShard(cluster, 'spread', 2);
    expect(new Set(projects.values()).size).toBe(3);
    // Every instance has a subscriber for every project.
    const subscriptions = [...projects.keys()].flatMap((projectId) => apps.map((app) => ({ projectId, stream: subscribeWs(app, projectId) })));
    await waitFor(() => apps.every((app) => app.feeds.subscriberCount() === projects.size), { what: 'subscribers on every instance' });

    // Each project's sharded channel is held on the master that owns the project, by each instance once.
    for (const node of cluster.nodes('master')) {
      const address = `${node.options.host}:${node.options.port}`;
      const held = await shardChannelSubscribers(node, prefix);
      const expected = Object.fromEntries(
        [...projects].filter(([, shard]) => shard === address).map(([projectId]) => [projectChannel(prefix, projectId, true), 3]),
      );
      expect(held).toEqual(expected);
    }

    // Jobs created on different instances, then updates of every job from every instance at once.
    const jobs = await Promise.all(
      [...projects.keys()].map(async (projectId, index) => (await mutate(apps[index % 3]!.url, CREATE_JOB, { projectId, source: projectId })).createIngestJob),
    );
    const updates = 30;
    await Promise.all(
      jobs.flatMap((job) =>
        Array.from({ length: updates }, (_, index) => mutate(apps[index % 3]!.url, UPDATE_PROGRESS, { id: job.id, progress: (index + 1) / 100 })),
      ),
    );
    for (const { projectId, stream } of subscriptions) {
      const received = (await stream.waitForResults(updates + 1, 10_000)).map((result) => result.projectEvents);
      expect(received.every((event) => event.projectId === projectId)).toBe(true);
      const positions = received.map((event) => cursorSeq(event.cursor));
      expect(positions).toEqual(positions.map((__, index) => index + 1));
    }
    for (const projectId of projects.keys()) {
      const cursors = subscriptions.filter((entry) => entry.projectId === projectId).map(({ stream }) => stream.results.map((result) => result.projectEvents.cursor));
      expect(cursors[1]).toEqual(cursors[0]);
      expect(cursors[2]).toEqual(cursors[0]);
    }
  });
});
