import type { Client } from 'graphql-ws';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import type { RecordedSubscription } from './support/clients.js';
import { connectWebSocket, mutate, subscribeOverWebSocket, webSocketUrl } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import {
  AGENT_RUN_STREAM,
  APPEND_MESSAGE,
  COMPLETE_JOB,
  CREATE_JOB,
  INGEST_JOB_STREAM,
  PROJECT_STREAM,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  UPDATE_STEP,
  WORKFLOW_STREAM,
  cursorSeq,
} from './support/operations.js';
import { graphqlWsNextFrames } from '../src/fanout/frames.js';
import { channelSubscribers, redisForTests } from './support/redis.js';
import { EVERY_EVENT_TYPE_IN_ORDER, runEveryEventType } from './support/scenario.js';
import { BACKENDS, createAppPool, testConfig } from './support/servers.js';
import { waitFor } from './support/wait-for.js';

const { prefix, redis } = redisForTests('ws');
const pool = createAppPool();
const clients: Client[] = [];

function connect(app: App): Client {
  const client = connectWebSocket(app.url);
  clients.push(client);
  return client;
}

/** Subscribes and waits until the server reports the subscriber live. */
async function subscribeLive<T>(
  app: App,
  client: Client,
  query: string,
  variables: Record<string, unknown> & { projectId: string },
): Promise<RecordedSubscription<T>> {
  const before = app.feeds.subscriberCount(variables.projectId);
  const subscription = subscribeOverWebSocket<T>(client, query, variables);
  await waitFor(() => app.feeds.subscriberCount(variables.projectId) > before || subscription.errors.length > 0, {
    what: 'the subscription to go live',
  });
  return subscription;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  await pool.stopAll();
});

describe.each(BACKENDS)('subscriptions over WebSocket, %s backend', (backend) => {
  const start = () => pool.start(testConfig(backend, prefix));

  it('streams every event type of a project in the order the changes were accepted', async () => {
    const app = await start();
    const client = connect(app);
    const projectId = `every-${backend}`;
    const all = await subscribeLive<ProjectEvent>(app, client, PROJECT_STREAM, { projectId });
    const ids = await runEveryEventType(app.url, projectId);
    const received = (await all.waitForResults(EVERY_EVENT_TYPE_IN_ORDER.length)).map((result) => result.projectEvents);
    expect(received.map((event) => event.type)).toEqual(EVERY_EVENT_TYPE_IN_ORDER);
    const positions = received.map((event) => cursorSeq(event.cursor));
    expect(positions).toEqual(positions.map((_, index) => positions[0]! + index));
    expect(received.every((event) => event.projectId === projectId)).toBe(true);
    expect(received.map((event) => event.__typename)).toEqual([
      ...Array(5).fill('IngestJobEvent'),
      ...Array(7).fill('AgentRunEvent'),
      ...Array(3).fill('WorkflowEvent'),
    ]);
    expect(received[1]!.job).toEqual({ id: ids.job.id, status: 'RUNNING', progress: 0.5 });
    expect(received[2]!.job).toEqual({ id: ids.job.id, status: 'COMPLETED', progress: 1 });
    expect(received[7]!.step).toEqual({ id: 'plan', status: 'RUNNING' });
    expect(received[8]!.message?.content).toBe('Looking into it');
    expect(received[12]!.workflowRun?.status).toBe('RUNNING');
    expect(received[13]!.nodeState).toEqual({ nodeId: 'extract', status: 'SUCCEEDED' });
    expect(received[14]!.workflowRun?.status).toBe('CANCELLED');
  });

  it('gives each typed stream only its own events, each with what changed and its run\'s summary', async () => {
    const app = await start();
    const client = connect(app);
    const projectId = `typed-${backend}`;
    const jobs = await subscribeLive<any>(app, client, INGEST_JOB_STREAM, { projectId });
    const runs = await subscribeLive<any>(app, client, AGENT_RUN_STREAM, { projectId });
    const workflows = await subscribeLive<any>(app, client, WORKFLOW_STREAM, { projectId });
    const ids = await runEveryEventType(app.url, projectId);

    const jobEvents = (await jobs.waitForResults(5)).map((result) => result.ingestJob);
    expect(jobEvents.map((event) => event.type)).toEqual(EVERY_EVENT_TYPE_IN_ORDER.slice(0, 5));
    expect(jobEvents[1].job).toMatchObject({ id: ids.job.id, progress: 0.5, processedItems: 5, message: 'halfway' });
    expect(jobEvents[4].job).toMatchObject({ id: ids.failing.id, status: 'FAILED', error: 'bucket not found' });

    const runEvents = (await runs.waitForResults(7)).map((result) => result.agentRun);
    expect(runEvents.map((event) => event.type)).toEqual(EVERY_EVENT_TYPE_IN_ORDER.slice(5, 12));
    expect(runEvents[2].step).toMatchObject({ id: 'plan', name: 'Plan', status: 'RUNNING' });
    expect(runEvents[2].run).toMatchObject({ status: 'RUNNING', stepCount: 1, messageCount: 0 });
    expect(runEvents[3].message).toMatchObject({ index: 0, role: 'ASSISTANT', content: 'Looking into it' });
    expect(runEvents[3].run).toMatchObject({ stepCount: 1, messageCount: 1 });
    expect(runEvents[3].step).toBeNull();
    expect(runEvents[4].run).toMatchObject({ status: 'COMPLETED', output: 'done', stepCount: 1, messageCount: 1 });

    const workflowEvents = (await workflows.waitForResults(3)).map((result) => result.workflowNodeState);
    expect(workflowEvents.map((event) => event.type)).toEqual(EVERY_EVENT_TYPE_IN_ORDER.slice(12));
    expect(workflowEvents[0].nodes.map((node: any) => [node.nodeId, node.status])).toEqual([
      ['extract', 'PENDING'],
      ['load', 'PENDING'],
    ]);
    expect(workflowEvents[1].nodeState).toMatchObject({ nodeId: 'extract', status: 'SUCCEEDED', output: '10 rows' });
    expect(workflowEvents[1].nodes).toBeNull();
    expect(workflowEvents[1].run).toMatchObject({ nodeCount: 2, nodeCounts: { pending: 1, running: 0, succeeded: 1, failed: 0, skipped: 0 } });
    // A marker per stream: each is the very next thing its stream receives.
    const markerJob = (await mutate(app.url, CREATE_JOB, { projectId, source: 'marker' })).createIngestJob;
    const markerRun = (await mutate(app.url, START_RUN, { projectId, agent: 'marker' })).startAgentRun;
    expect((await jobs.waitForResults(6))[5].ingestJob.job.id).toBe(markerJob.id);
    expect((await runs.waitForResults(8))[7].agentRun.run.id).toBe(markerRun.id);
    expect(jobs.results).toHaveLength(6);
    expect(runs.results).toHaveLength(8);
  });

  it("never gives a subscriber another project's events", async () => {
    const app = await start();
    const client = connect(app);
    const mine = `mine-${backend}`;
    const theirs = `theirs-${backend}`;
    const subscription = await subscribeLive<ProjectEvent>(app, client, PROJECT_STREAM, { projectId: mine });
    const job = (await mutate(app.url, CREATE_JOB, { projectId: theirs, source: 'their-source' })).createIngestJob;
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.1 });
    await mutate(app.url, START_RUN, { projectId: theirs, agent: 'theirs' });
    const own = (await mutate(app.url, CREATE_JOB, { projectId: mine, source: 'my-source' })).createIngestJob;
    const [event] = await subscription.waitForResults(1);
    expect(event!.projectEvents.job?.id).toBe(own.id);
    // The next own event proves nothing of theirs was queued in between.
    await mutate(app.url, UPDATE_PROGRESS, { id: own.id, progress: 0.2 });
    await subscription.waitForResults(2);
    expect(subscription.results.map((result) => result.projectEvents.projectId)).toEqual([mine, mine]);
  });

  it('narrows streams by jobId, runId and types', async () => {
    const app = await start();
    const client = connect(app);
    const projectId = `filters-${backend}`;
    const jobA = (await mutate(app.url, CREATE_JOB, { projectId, source: 'a' })).createIngestJob;
    const jobB = (await mutate(app.url, CREATE_JOB, { projectId, source: 'b' })).createIngestJob;
    const runA = (await mutate(app.url, START_RUN, { projectId, agent: 'a' })).startAgentRun;
    const runB = (await mutate(app.url, START_RUN, { projectId, agent: 'b' })).startAgentRun;
    const flowA = (await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'a', nodeIds: ['n'] })).startWorkflowRun;
    const flowB = (await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'b', nodeIds: ['n'] })).startWorkflowRun;

    const onlyJobA = await subscribeLive<any>(app, client, INGEST_JOB_STREAM, { projectId, jobId: jobA.id });
    const onlyRunA = await subscribeLive<any>(app, client, AGENT_RUN_STREAM, { projectId, runId: runA.id });
    const onlyFlowA = await subscribeLive<any>(app, client, WORKFLOW_STREAM, { projectId, runId: flowA.id });
    const onlyMessages = await subscribeLive<ProjectEvent>(app, client, PROJECT_STREAM, {
      projectId,
      types: ['AGENT_MESSAGE_APPENDED', 'INGEST_JOB_UPDATED'],
    });

    for (const [a, b] of [
      [jobA, jobB],
      [jobB, jobA],
    ]) {
      await mutate(app.url, UPDATE_PROGRESS, { id: a.id, progress: 0.3 });
      await mutate(app.url, UPDATE_PROGRESS, { id: b.id, progress: 0.6 });
    }
    await mutate(app.url, APPEND_MESSAGE, { runId: runB.id, role: 'USER', content: 'to b' });
    await mutate(app.url, UPDATE_STEP, { runId: runA.id, stepId: 's', name: 'Step', status: 'RUNNING' });
    await mutate(app.url, APPEND_MESSAGE, { runId: runA.id, role: 'USER', content: 'to a' });
    await mutate(app.url, UPDATE_NODE, { runId: flowB.id, nodeId: 'n', status: 'RUNNING' });
    await mutate(app.url, UPDATE_NODE, { runId: flowA.id, nodeId: 'n', status: 'RUNNING' });

    const jobEvents = await onlyJobA.waitForResults(2);
    expect(jobEvents.map((result) => [result.ingestJob.job.id, result.ingestJob.job.progress])).toEqual([
      [jobA.id, 0.3],
      [jobA.id, 0.6],
    ]);
    const runEvents = await onlyRunA.waitForResults(3);
    expect(runEvents.map((result) => [result.agentRun.run.id, result.agentRun.type])).toEqual([
      [runA.id, 'AGENT_RUN_UPDATED'],
      [runA.id, 'AGENT_STEP_UPDATED'],
      [runA.id, 'AGENT_MESSAGE_APPENDED'],
    ]);
    const flowEvents = await onlyFlowA.waitForResults(1);
    expect(flowEvents.map((result) => result.workflowNodeState.run.id)).toEqual([flowA.id]);
    const typed = await onlyMessages.waitForResults(6);
    expect(typed.map((result) => result.projectEvents.type)).toEqual([
      'INGEST_JOB_UPDATED',
      'INGEST_JOB_UPDATED',
      'INGEST_JOB_UPDATED',
      'INGEST_JOB_UPDATED',
      'AGENT_MESSAGE_APPENDED',
      'AGENT_MESSAGE_APPENDED',
    ]);
    // Nothing else was in flight: a marker for each stream arrives right after the ones above.
    await mutate(app.url, UPDATE_PROGRESS, { id: jobA.id, progress: 0.9 });
    await mutate(app.url, UPDATE_NODE, { runId: flowA.id, nodeId: 'n', status: 'SUCCEEDED' });
    await mutate(app.url, APPEND_MESSAGE, { runId: runA.id, role: 'USER', content: 'marker' });
    expect((await onlyJobA.waitForResults(3)).map((result) => result.ingestJob.job.progress)).toEqual([0.3, 0.6, 0.9]);
    expect((await onlyFlowA.waitForResults(2))[1].workflowNodeState.nodeState.status).toBe('SUCCEEDED');
    expect((await onlyRunA.waitForResults(4))[3].agentRun.message.content).toBe('marker');
    expect((await onlyMessages.waitForResults(8)).slice(6).map((result) => result.projectEvents.type)).toEqual([
      'INGEST_JOB_UPDATED',
      'AGENT_MESSAGE_APPENDED',
    ]);
    expect(onlyJobA.results).toHaveLength(3);
    expect(onlyFlowA.results).toHaveLength(2);
    expect(onlyRunA.results).toHaveLength(4);
    expect(onlyMessages.results).toHaveLength(8);
  });

  it('refuses a malformed cursor or an empty types list with BAD_USER_INPUT', async () => {
    const app = await start();
    const client = connect(app);
    const badCursor = subscribeOverWebSocket(client, INGEST_JOB_STREAM, { projectId: 'p', after: 'not a cursor' });
    const emptyTypes = subscribeOverWebSocket(client, PROJECT_STREAM, { projectId: 'p', types: [] });
    type Errors = Array<{ extensions: Record<string, unknown> }>;
    const cursorErrors = (await badCursor.waitForError()) as Errors;
    const typesErrors = (await emptyTypes.waitForError()) as Errors;
    expect(cursorErrors[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(typesErrors[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'types' });
    expect(app.feeds.subscriberCount()).toBe(0);
  });

  it('releases the server-side subscription when the client completes or disconnects', async () => {
    const app = await start();
    const client = connect(app);
    const projectId = `release-${backend}`;
    const first = await subscribeLive(app, client, PROJECT_STREAM, { projectId });
    await subscribeLive(app, client, INGEST_JOB_STREAM, { projectId });
    expect(app.feeds.subscriberCount(projectId)).toBe(2);
    first.dispose();
    await waitFor(() => app.feeds.subscriberCount(projectId) === 1, { what: 'the completed subscription to detach' });
    await client.dispose();
    await waitFor(() => app.feeds.subscriberCount(projectId) === 0, { what: 'the disconnected client to detach' });
  });
});

describe('subscriptions over WebSocket with Redis', () => {
  const start = () => pool.start(testConfig('redis', prefix));

  it('subscribes a project channel only while it has subscribers, and releases it at NUMSUB 0', async () => {
    const app = await start();
    const client = connect(app);
    const channel = `${prefix}events:numsub`;
    expect((await channelSubscribers(redis, prefix))[channel]).toBeUndefined();
    const first = await subscribeLive(app, client, PROJECT_STREAM, { projectId: 'numsub' });
    const second = await subscribeLive(app, client, AGENT_RUN_STREAM, { projectId: 'numsub' });
    // One Redis subscription per project and instance, however many local subscribers.
    expect((await channelSubscribers(redis, prefix))[channel]).toBe(1);
    first.dispose();
    second.dispose();
    await waitFor(async () => ((await channelSubscribers(redis, prefix))[channel] ?? 0) === 0, {
      what: 'NUMSUB to fall back to 0',
    });
  });

  it('delivers every event of their project to 150 concurrent WebSocket clients', async () => {
    const app = await start();
    const projects = ['crowd-0', 'crowd-1', 'crowd-2'];
    const subscriptions = await Promise.all(
      Array.from({ length: 150 }, async (_, index) => {
        const projectId = projects[index % projects.length]!;
        const subscription = subscribeOverWebSocket<ProjectEvent>(connect(app), PROJECT_STREAM, { projectId });
        return { projectId, subscription };
      }),
    );
    await waitFor(() => app.subscriberCount() === 150, { what: '150 live subscribers' });
    // Same operation, variables and rights: one shared execution per project.
    expect(app.audienceCount()).toBe(3);
    const jobs = await Promise.all(
      projects.map(async (projectId) => (await mutate(app.url, CREATE_JOB, { projectId, source: 'crowd' })).createIngestJob),
    );
    for (let step = 1; step <= 10; step++) {
      await Promise.all(jobs.map((job) => mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 10 })));
    }
    for (const { projectId, subscription } of subscriptions) {
      const received = (await subscription.waitForResults(11)).map((result) => result.projectEvents);
      const job = jobs[projects.indexOf(projectId)]!;
      expect(received.map((event) => event.job?.id)).toEqual(Array(11).fill(job.id));
      expect(received.map((event) => event.job?.progress)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    }
  });

  it('closes a client that sends garbage with 4400 while everyone else keeps receiving', async () => {
    const app = await start();
    const projectId = 'garbage';
    const healthy = await subscribeLive<ProjectEvent>(app, connect(app), PROJECT_STREAM, { projectId });
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'x' })).createIngestJob;

    const raw = new WebSocket(webSocketUrl(app.url), 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      raw.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send('{"type":"connection_init"}');
    await new Promise((resolve) => raw.once('message', resolve));
    raw.send('this is not JSON {{{');
    expect((await closed).code).toBe(4400);

    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 });
    const received = await healthy.waitForResults(2);
    expect(received.map((result) => result.projectEvents.type)).toEqual(['INGEST_JOB_CREATED', 'INGEST_JOB_UPDATED']);
  });
});

describe('progress conflation', () => {
  const COALESCED = `subscription ($projectId: ID!, $coalesceMs: Int) {
    ingestJob(projectId: $projectId, coalesceMs: $coalesceMs) { cursor type job { id progress status } }
  }`;

  it('delivers the latest progress per job within the window, every other event at once, never reordered', async () => {
    const app = await pool.start(testConfig('memory', prefix));
    const projectId = 'coalesced';
    const client = connect(app);
    const coalesced = await subscribeLive<any>(app, client, COALESCED, { projectId, coalesceMs: 5000 });
    const everything = await subscribeLive<any>(app, client, COALESCED, { projectId });
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'busy' })).createIngestJob;
    const other = (await mutate(app.url, CREATE_JOB, { projectId, source: 'other' })).createIngestJob;
    for (let step = 1; step <= 40; step++) {
      await mutate(app.url, UPDATE_PROGRESS, { id: step % 4 === 0 ? other.id : job.id, progress: step / 100 });
    }
    await mutate(app.url, COMPLETE_JOB, { id: job.id });

    expect((await everything.waitForResults(43)).length).toBe(43);
    const received = (await coalesced.waitForResults(5)).map((result) => result.ingestJob);
    // Both creations, then the latest update of each job (in log order), then the completion.
    expect(received.map((event: any) => [event.type, event.job.id, event.job.progress])).toEqual([
      ['INGEST_JOB_CREATED', job.id, 0],
      ['INGEST_JOB_CREATED', other.id, 0],
      ['INGEST_JOB_UPDATED', job.id, 0.39],
      ['INGEST_JOB_UPDATED', other.id, 0.4],
      ['INGEST_JOB_COMPLETED', job.id, 1],
    ]);
    const positions = received.map((event: any) => cursorSeq(event.cursor));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('flushes waiting updates when the window ends, and refuses a window out of range', async () => {
    const app = await pool.start(testConfig('memory', prefix));
    const projectId = 'window';
    const client = connect(app);
    const coalesced = await subscribeLive<any>(app, client, COALESCED, { projectId, coalesceMs: 50 });
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'slow' })).createIngestJob;
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.1 });
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.2 });
    const received = await coalesced.waitForResults(2);
    expect(received.at(-1).ingestJob.job.progress).toBe(0.2);
    const refused = subscribeOverWebSocket(client, COALESCED, { projectId, coalesceMs: 5 });
    const errors = (await refused.waitForError()) as Array<{ extensions: Record<string, unknown> }>;
    expect(errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'coalesceMs' });
  });
});

describe('graphql-ws frames of shared results', () => {
  it('equal the messages graphql-ws itself would write', () => {
    const payload = { data: { ingestJob: { cursor: 'e:1', job: { message: 'a "quoted"\nline', progress: 0.5 } } } };
    for (const id of ['1', 'id with "quotes"', '\u2028']) {
      expect(graphqlWsNextFrames(id)(JSON.stringify(payload))).toBe(stringifyMessage({ id, type: MessageType.Next, payload }));
      expect(graphqlWsNextFrames(id).bytes(Buffer.from(JSON.stringify(payload))).toString('utf8')).toBe(
        stringifyMessage({ id, type: MessageType.Next, payload }),
      );
    }
  });
});
