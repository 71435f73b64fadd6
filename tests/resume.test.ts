import type { Client } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { RecordedSubscription } from './support/clients.js';
import { connectWebSocket, mutate, request, subscribeOverSse, subscribeOverWebSocket } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import { CREATE_JOB, INGEST_JOB_STREAM, PROJECT_STREAM, START_RUN, UPDATE_PROGRESS, cursorSeq } from './support/operations.js';
import { deleteKeys, redisForTests } from './support/redis.js';
import { BACKENDS, createAppPool, testConfig } from './support/servers.js';
import { waitFor } from './support/wait-for.js';

const { prefix, redis } = redisForTests('resume');
const pool = createAppPool();
const clients: Client[] = [];
const subscriptions: Array<RecordedSubscription<unknown>> = [];
afterEach(async () => {
  subscriptions.splice(0).forEach((subscription) => subscription.dispose());
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  await pool.stopAll();
});

const SNAPSHOT = `query ($projectId: ID!) {
  projectSnapshot(projectId: $projectId) { projectId cursor ingestJobs { id progress } agentRuns { id } workflowRuns { id } }
}`;
const HISTORY = `query ($projectId: ID!, $after: String, $types: [EventType!], $limit: Int) {
  events(projectId: $projectId, after: $after, types: $types, limit: $limit) { __typename cursor type projectId }
}`;

function subscribe<T = ProjectEvent>(app: App, query: string, variables: Record<string, unknown>) {
  const client = connectWebSocket(app.url);
  clients.push(client);
  const subscription = subscribeOverWebSocket<T>(client, query, variables);
  subscriptions.push(subscription as RecordedSubscription<unknown>);
  return subscription;
}

/** Creates a job and moves its progress `updates` times: 1 + `updates` events. */
async function produce(app: App, projectId: string, updates: number) {
  const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'resume' })).createIngestJob;
  for (let step = 1; step <= updates; step++) {
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / (updates + 1) });
  }
  return job;
}

async function history(app: App, variables: Record<string, unknown>) {
  return request<{ events: Array<{ cursor: string; type: string; __typename: string }> }>(app.url, HISTORY, variables);
}

const positions = (results: ProjectEvent[]) => results.map((result) => cursorSeq(result.projectEvents.cursor));
const consecutive = (from: number, count: number) => Array.from({ length: count }, (_, index) => from + index);

describe.each(BACKENDS)('resuming streams, %s backend', (backend) => {
  const start = (overrides = {}) => pool.start(testConfig(backend, prefix, overrides));

  it('replays the events after the cursor, then continues live with no gap or repeat while publishing goes on', async () => {
    const app = await start();
    const projectId = `seam-${backend}`;
    await produce(app, projectId, 29);
    const all = (await history(app, { projectId, limit: 100 })).data!.events;
    expect(all).toHaveLength(30);
    const cursor = all[9]!.cursor;

    // Publish concurrently with the subscription starting, so the seam between replay and
    // live is crossed while events are in flight.
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'live' })).createIngestJob;
    const publishing = (async () => {
      for (let step = 1; step <= 60; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 61 });
    })();
    const resumed = subscribe(app, PROJECT_STREAM, { projectId, after: cursor });
    await publishing;
    // 30 events before, 61 more: everything after position 10 is 11..91.
    const received = await resumed.waitForResults(81);
    expect(positions(received)).toEqual(consecutive(11, 81));
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 1 });
    expect(positions(await resumed.waitForResults(82))).toEqual(consecutive(11, 82));
  });

  it('applies the stream filters to the replay too', async () => {
    const app = await start();
    const projectId = `filtered-${backend}`;
    const before = (await request(app.url, SNAPSHOT, { projectId })).data!.projectSnapshot.cursor;
    const wanted = await produce(app, projectId, 3);
    await produce(app, projectId, 3);
    await mutate(app.url, START_RUN, { projectId, agent: 'a' });
    const jobStream = subscribe<any>(app, INGEST_JOB_STREAM, { projectId, jobId: wanted.id, after: before });
    const typed = subscribe(app, PROJECT_STREAM, { projectId, types: ['AGENT_RUN_CREATED'], after: before });
    const jobEvents = await jobStream.waitForResults(4);
    expect(jobEvents.map((result) => result.ingestJob.job.id)).toEqual(Array(4).fill(wanted.id));
    expect((await typed.waitForResults(1)).map((result) => result.projectEvents.type)).toEqual(['AGENT_RUN_CREATED']);
    // Markers, one per stream: each arrives right after what that stream already had.
    await mutate(app.url, UPDATE_PROGRESS, { id: wanted.id, progress: 0.99 });
    const marker = (await mutate(app.url, START_RUN, { projectId, agent: 'marker' })).startAgentRun;
    expect((await jobStream.waitForResults(5)).at(-1)!.ingestJob.job.progress).toBe(0.99);
    const typedEvents = await typed.waitForResults(2);
    expect(typedEvents).toHaveLength(2);
    expect(typedEvents[1]!.projectEvents.agentRun?.id).toBe(marker.id);
  });

  it('loads a snapshot and streams exactly the changes after it', async () => {
    const app = await start();
    const projectId = `snapshot-${backend}`;
    const job = await produce(app, projectId, 2);
    // Changes keep coming while the snapshot is read.
    const publishing = (async () => {
      for (let step = 1; step <= 20; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 20 });
    })();
    const snapshot = (await request(app.url, SNAPSHOT, { projectId })).data!.projectSnapshot;
    await publishing;
    expect(snapshot.projectId).toBe(projectId);
    expect(snapshot.ingestJobs).toHaveLength(1);
    const seenInSnapshot = cursorSeq(snapshot.cursor);
    const stream = subscribe(app, PROJECT_STREAM, { projectId, after: snapshot.cursor });
    const received = await stream.waitForResults(23 - seenInSnapshot);
    expect(positions(received)).toEqual(consecutive(seenInSnapshot + 1, 23 - seenInSnapshot));
    // The snapshot's progress plus the streamed changes give the final state.
    const last = received.at(-1)!.projectEvents.job!;
    expect(last.progress).toBe(1);
  });

  it('refuses cursors it cannot resume from, before sending any event', async () => {
    const app = await start({ retention: { maxEvents: 5, maxAgeMs: 0, finishedMs: 0 } });
    const projectId = `expired-${backend}`;
    await produce(app, projectId, 1);
    const early = (await history(app, { projectId })).data!.events[0]!.cursor;
    await produce(app, projectId, 9);
    const otherProject = (await request(app.url, SNAPSHOT, { projectId: `${projectId}-other` })).data!.projectSnapshot.cursor;
    const [epoch, seq] = early.split(':');
    const cases: Array<[string, string, string]> = [
      ['older than retention', early, 'CURSOR_EXPIRED'],
      ['of another project', otherProject, 'CURSOR_EXPIRED'],
      ['ahead of the log', `${epoch}:${Number(seq) + 1000}`, 'CURSOR_EXPIRED'],
      ['of an earlier epoch', `earlier${epoch}:${seq}`, 'CURSOR_EXPIRED'],
      ['malformed', 'yesterday', 'BAD_USER_INPUT'],
    ];
    for (const [, cursor, code] of cases) {
      const stream = subscribe(app, PROJECT_STREAM, { projectId, after: cursor });
      const errors = (await stream.waitForError()) as Array<{ extensions: { code: string } }>;
      expect(errors[0]!.extensions.code).toBe(code);
      expect(stream.results).toEqual([]);
      const answer = await history(app, { projectId, after: cursor });
      expect(answer.errors![0]!.extensions!.code).toBe(code);
    }
    expect(app.feeds.subscriberCount(projectId)).toBe(0);
    // 12 events, 5 retained (8..12): resuming from the oldest retained one still works.
    const oldest = (await history(app, { projectId })).data!.events[0]!.cursor;
    expect(cursorSeq(oldest)).toBe(8);
    const stream = subscribe(app, PROJECT_STREAM, { projectId, after: oldest });
    expect(positions(await stream.waitForResults(4))).toEqual([9, 10, 11, 12]);
  });

  it('pages through history by cursor, filtered by type and bounded by limit', async () => {
    const app = await start();
    const projectId = `history-${backend}`;
    await produce(app, projectId, 4);
    await mutate(app.url, START_RUN, { projectId, agent: 'a' });
    await produce(app, projectId, 4);
    const pages: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await history(app, { projectId, after, limit: 4 })).data!.events;
      if (page.length === 0) break;
      pages.push(page.map((event) => event.type));
      after = page.at(-1)!.cursor;
    }
    expect(pages.map((page) => page.length)).toEqual([4, 4, 3]);
    expect(pages.flat()[5]).toBe('AGENT_RUN_CREATED');
    const created = (await history(app, { projectId, types: ['INGEST_JOB_CREATED', 'AGENT_RUN_CREATED'] })).data!.events;
    expect(created.map((event) => [event.type, event.__typename])).toEqual([
      ['INGEST_JOB_CREATED', 'IngestJobEvent'],
      ['AGENT_RUN_CREATED', 'AgentRunEvent'],
      ['INGEST_JOB_CREATED', 'IngestJobEvent'],
    ]);
    for (const limit of [0, 1001]) {
      expect((await history(app, { projectId, limit })).errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'limit' });
    }
    expect((await history(app, { projectId, types: [] })).errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'types' });
  });

  it('resumes over SSE with the same after argument', async () => {
    const app = await start();
    const projectId = `sse-${backend}`;
    await produce(app, projectId, 5);
    const cursor = (await history(app, { projectId })).data!.events[2]!.cursor;
    const stream = subscribeOverSse<ProjectEvent>(app.url, PROJECT_STREAM, { projectId, after: cursor });
    subscriptions.push(stream as RecordedSubscription<unknown>);
    expect(positions(await stream.waitForResults(3))).toEqual([4, 5, 6]);
    await waitFor(() => app.feeds.subscriberCount(projectId) === 1, { what: 'the SSE subscriber to be live' });
    await produce(app, projectId, 0);
    expect(positions(await stream.waitForResults(4))).toEqual([4, 5, 6, 7]);
  });
});

describe('resuming after Redis lost its data', () => {
  it('answers CURSOR_EXPIRED for a cursor from before the loss', async () => {
    const lossPrefix = `${prefix}loss:`;
    const app = await pool.start(testConfig('redis', lossPrefix));
    const projectId = 'lost';
    await produce(app, projectId, 2);
    const cursor = (await history(app, { projectId })).data!.events[1]!.cursor;
    await deleteKeys(redis, lossPrefix);
    await produce(app, projectId, 2);
    const stream = subscribe(app, PROJECT_STREAM, { projectId, after: cursor });
    const errors = (await stream.waitForError()) as Array<{ message: string; extensions: { code: string } }>;
    expect(errors[0]!.extensions.code).toBe('CURSOR_EXPIRED');
    expect(errors[0]!.message).toContain('load a fresh snapshot');
  });
});
