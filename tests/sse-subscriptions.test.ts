import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { RecordedSubscription } from './support/clients.js';
import { mutate, readBodyText, subscribeOverSse } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import {
  AGENT_RUN_STREAM,
  CREATE_JOB,
  INGEST_JOB_STREAM,
  PROJECT_STREAM,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  WORKFLOW_STREAM,
} from './support/operations.js';
import { redisForTests } from './support/redis.js';
import { createTeardown } from './support/teardown.js';
import { EVERY_EVENT_TYPE_IN_ORDER, runEveryEventType } from './support/scenario.js';
import { createAppPool, testConfig } from './support/servers.js';
import { waitFor } from './support/wait-for.js';

const { prefix } = redisForTests('sse');
const pool = createAppPool();
const subscriptions: Array<RecordedSubscription<unknown>> = [];
afterEach(async () => {
  subscriptions.splice(0).forEach((subscription) => subscription.dispose());
  await pool.stopAll();
});
const teardown = createTeardown();

async function subscribeLive<T>(app: App, query: string, variables: Record<string, unknown> & { projectId: string }) {
  const before = app.subscriberCount();
  const subscription = subscribeOverSse<T>(app.url, query, variables);
  subscriptions.push(subscription as RecordedSubscription<unknown>);
  await waitFor(() => app.subscriberCount() > before || subscription.errors.length > 0, {
    what: 'the SSE subscription to go live',
  });
  return subscription;
}

describe('subscriptions over SSE (Redis backend)', () => {
  it('serves each of the four subscriptions, filtered and in order', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = 'sse-all';
    const jobs = await subscribeLive<any>(app, INGEST_JOB_STREAM, { projectId });
    const runs = await subscribeLive<any>(app, AGENT_RUN_STREAM, { projectId });
    const workflows = await subscribeLive<any>(app, WORKFLOW_STREAM, { projectId });
    const everything = await subscribeLive<ProjectEvent>(app, PROJECT_STREAM, { projectId });
    const other = await subscribeLive<ProjectEvent>(app, PROJECT_STREAM, { projectId: 'sse-other' });
    await runEveryEventType(app.url, projectId);

    expect((await jobs.waitForResults(5)).map((result) => result.ingestJob.type)).toEqual(
      EVERY_EVENT_TYPE_IN_ORDER.slice(0, 5),
    );
    expect((await runs.waitForResults(7)).map((result) => result.agentRun.type)).toEqual(
      EVERY_EVENT_TYPE_IN_ORDER.slice(5, 12),
    );
    expect((await workflows.waitForResults(3)).map((result) => result.workflowNodeState.type)).toEqual(
      EVERY_EVENT_TYPE_IN_ORDER.slice(12),
    );
    const all = await everything.waitForResults(EVERY_EVENT_TYPE_IN_ORDER.length);
    expect(all.map((result) => result.projectEvents.type)).toEqual(EVERY_EVENT_TYPE_IN_ORDER);
    // A marker in the other project: the first thing its stream receives.
    const marker = (await mutate(app.url, CREATE_JOB, { projectId: 'sse-other', source: 'marker' })).createIngestJob;
    expect((await other.waitForResults(1)).map((result) => result.projectEvents.job?.id)).toEqual([marker.id]);
  });

  it('narrows by jobId over SSE and releases the subscription when the client goes away', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = 'sse-filter';
    const wanted = (await mutate(app.url, CREATE_JOB, { projectId, source: 'wanted' })).createIngestJob;
    const unwanted = (await mutate(app.url, CREATE_JOB, { projectId, source: 'unwanted' })).createIngestJob;
    const stream = await subscribeLive<any>(app, INGEST_JOB_STREAM, { projectId, jobId: wanted.id });
    await mutate(app.url, UPDATE_PROGRESS, { id: unwanted.id, progress: 0.1 });
    await mutate(app.url, UPDATE_PROGRESS, { id: wanted.id, progress: 0.2 });
    const [event] = await stream.waitForResults(1);
    expect(event.ingestJob.job).toMatchObject({ id: wanted.id, progress: 0.2 });
    stream.dispose();
    await waitFor(() => app.feeds.subscriberCount(projectId) === 0, { what: 'the SSE subscriber to detach' });
  });
});

/** An SSE subscription read as raw text, to compare bytes on the wire. */
async function rawStream(app: App, query: string, variables: Record<string, unknown>) {
  const controller = new AbortController();
  teardown.push(() => controller.abort());
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const body = readBodyText(response);
  return {
    response,
    get text() {
      return body.text;
    },
    get ended() {
      return body.ended;
    },
  };
}

const metricsOf = async (app: App) => (await fetch(new URL('/metrics', app.url))).text();

describe('shared SSE streams', () => {
  it('write the frames and headers yoga writes, to the real graphql-sse client too, and end with complete on drain', async () => {
    // Two instances on one Redis see the same events: one shares, one leaves SSE to yoga.
    const shared = await pool.start(testConfig('redis', prefix));
    const byYoga = await pool.start(testConfig('redis', prefix, { fanout: 'per-subscriber' }));
    const projectId = 'sse-frames';
    const job = (await mutate(shared.url, CREATE_JOB, { projectId, source: 'frames' })).createIngestJob;
    const [ours, theirs] = await Promise.all([shared, byYoga].map((app) => rawStream(app, INGEST_JOB_STREAM, { projectId })));
    const [ourClient, theirClient] = [shared, byYoga].map((app) => {
      const subscription = subscribeOverSse<any>(app.url, INGEST_JOB_STREAM, { projectId });
      subscriptions.push(subscription);
      return subscription;
    });
    await waitFor(() => shared.subscriberCount() === 2 && byYoga.subscriberCount() === 2, { what: 'both streams on both instances' });
    expect(shared.audienceCount()).toBe(1);
    expect(await metricsOf(shared)).toContain('rte_subscriptions{field="ingestJob",mode="shared"} 2');
    expect(await metricsOf(byYoga)).toContain('rte_subscriptions{field="ingestJob",mode="private"} 2');

    for (const header of ['content-type', 'cache-control', 'connection', 'content-encoding']) {
      expect(ours!.response.headers.get(header), header).toBe(theirs!.response.headers.get(header));
    }
    expect(ours!.response.status).toBe(theirs!.response.status);
    await mutate(shared.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5, message: 'line\nbreak "quoted"' });
    await mutate(byYoga.url, UPDATE_PROGRESS, { id: job.id, progress: 0.75 });
    const twoEvents = (text: string) => text.split('event: next\n').length === 3;
    await waitFor(() => twoEvents(ours!.text) && twoEvents(theirs!.text), { what: 'two events on both streams' });
    // Byte for byte, apart from yoga's keep-alive comments, which come on a timer.
    const withoutKeepAlive = (text: string) => text.replaceAll(':\n\n', '');
    expect(ours!.text.startsWith(':\n\n')).toBe(true);
    expect(withoutKeepAlive(ours!.text)).toBe(withoutKeepAlive(theirs!.text));

    expect((await ourClient!.waitForResults(2)).map((result) => [result.ingestJob.job.progress, result.ingestJob.job.message])).toEqual([
      [0.5, 'line\nbreak "quoted"'],
      [0.75, 'line\nbreak "quoted"'],
    ]);
    expect(await theirClient!.waitForResults(2)).toEqual(ourClient!.results);

    // Draining ends every stream with `complete`, shared or not.
    await Promise.all([shared.drain(100), byYoga.drain(100)]);
    await waitFor(() => ours!.ended && theirs!.ended && ourClient!.completed && theirClient!.completed, { what: 'the streams to end' });
    expect(ours!.text.endsWith('event: complete\ndata:\n\n')).toBe(true);
    expect(withoutKeepAlive(ours!.text)).toBe(withoutKeepAlive(theirs!.text));
  });

  it('resume after a cursor, replayed then shared, and an expired cursor is refused as yoga refuses it', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = 'sse-resume';
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'r' })).createIngestJob;
    const live = await subscribeLive<any>(app, INGEST_JOB_STREAM, { projectId });
    for (let step = 1; step <= 3; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 10 });
    const [first] = await live.waitForResults(3);
    const resumed = subscribeOverSse<any>(app.url, INGEST_JOB_STREAM, { projectId, after: first.ingestJob.cursor });
    subscriptions.push(resumed);
    expect((await resumed.waitForResults(2)).map((result) => result.ingestJob.job.progress)).toEqual([0.2, 0.3]);
    await waitFor(() => app.subscriberCount() === 2, { what: 'the resumed stream to join' });
    expect(app.audienceCount()).toBe(1);
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.4 });
    expect((await resumed.waitForResults(3)).map((result) => result.ingestJob.job.progress)).toEqual([0.2, 0.3, 0.4]);
    const expired = subscribeOverSse(app.url, INGEST_JOB_STREAM, { projectId, after: `${first.ingestJob.cursor}999` });
    subscriptions.push(expired);
    const errors = (await expired.waitForError()) as Array<{ extensions: Record<string, unknown> }>;
    expect(errors[0]!.extensions).toEqual({ code: 'CURSOR_EXPIRED' });
  });

  it('cuts off a stream whose reader stopped, while the rest of its audience keeps everything', async () => {
    const app = await pool.start(testConfig('memory', prefix, { limits: { ...testConfig('memory', prefix).limits, outgoingBufferBytes: 65_536 } }));
    const flow = (await mutate(app.url, START_WORKFLOW, { projectId: 'p', workflowId: 'w', nodeIds: ['n'] })).startWorkflowRun;
    const BIG = `subscription { workflowNodeState(projectId: "p") { cursor nodeState { output } } }`;
    const fast = await subscribeLive<any>(app, BIG, { projectId: 'p' });
    // A raw SSE request whose socket is paused once the stream started: its buffers fill.
    const stalled = httpRequest(app.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } });
    let stalledClosed = false;
    let stalledResponse: import('node:http').IncomingMessage | undefined;
    stalled.on('error', () => {});
    stalled.on('response', (response) => {
      stalledResponse = response;
      response.once('data', () => response.pause());
      response.on('close', () => void (stalledClosed = true));
      response.on('error', () => {});
    });
    stalled.end(JSON.stringify({ query: BIG }));
    teardown.push(() => stalled.destroy());
    await waitFor(() => app.subscriberCount() === 2, { what: 'both streams' });
    const output = 'x'.repeat(99_000);
    for (let index = 0; index < 100; index++) {
      await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'n', status: 'RUNNING', output: `${index}${output}` });
    }
    await waitFor(() => app.subscriberCount() === 1, { what: 'the stalled stream to be cut off' });
    // Reading again, the client finds its connection closed.
    stalledResponse!.resume();
    await waitFor(() => stalledClosed, { what: 'its connection to close' });
    expect(await metricsOf(app)).toContain('rte_slow_consumer_disconnects_total{transport="sse"} 1');
    const received = await fast.waitForResults(100, 20_000);
    expect(received.map((result) => Number.parseInt(result.workflowNodeState.nodeState.output, 10))).toEqual(
      Array.from({ length: 100 }, (_, index) => index),
    );
  });
});
