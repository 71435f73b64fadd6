import { Writable } from 'node:stream';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { subscribeResumable } from '../client/src/resumable-subscription.js';
import type { App } from '../src/app.js';
import { createLogger } from '../src/observability/logger.js';
import type { RecordedSubscription } from './support/clients.js';
import { connectWebSocket, mutate, request, subscribeOverSse, subscribeOverWebSocket, webSocketUrl } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import { CREATE_JOB, JOBS, PROJECT_STREAM, UPDATE_PROGRESS, cursorSeq } from './support/operations.js';
import { startPrivateRedis } from './support/processes.js';
import { redisForTests } from './support/redis.js';
import { createAppPool, testConfig } from './support/servers.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { createTeardown } from './support/teardown.js';
import { waitFor } from './support/wait-for.js';

const { prefix } = redisForTests('ops');
const pool = createAppPool();
// Registered before the teardown, so it runs after it: clients go before their servers.
afterEach(() => pool.stopAll());
const teardown = createTeardown();

const origin = (app: App) => new URL(app.url).origin;

/** The value of one Prometheus sample, e.g. `rte_connections{transport="ws"}`. */
async function metric(app: App, sample: string): Promise<number | undefined> {
  const text = await (await fetch(`${origin(app)}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

function track<T>(subscription: RecordedSubscription<T>) {
  teardown.push(() => subscription.dispose());
  return subscription;
}

function wsClient(app: App, options: Parameters<typeof connectWebSocket>[1] = {}): Client {
  const client = connectWebSocket(app.url, { onNonLazyError: () => {}, ...options });
  teardown.push(() => client.dispose());
  return client;
}

describe('metrics', () => {
  it('exposes connections, subscriptions, events, deliveries, latency, resumes, errors and Redis state', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = 'metrics';
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 's' })).createIngestJob;
    track(subscribeOverWebSocket(wsClient(app), PROJECT_STREAM, { projectId }));
    track(subscribeOverSse(app.url, PROJECT_STREAM, { projectId }));
    const cursor = (await request(app.url, `query { events(projectId: "${projectId}") { cursor } }`)).data!.events[0].cursor;
    const resumed = track(subscribeOverWebSocket(wsClient(app), PROJECT_STREAM, { projectId, after: cursor }));
    await waitFor(() => app.subscriberCount() === 3, { what: 'three subscriptions' });
    // WebSocket, SSE and the resumed one share one execution.
    expect(app.feeds.subscriberCount(projectId)).toBe(1);
    for (let step = 1; step <= 4; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 10 });
    await resumed.waitForResults(4);
    const expired = track(subscribeOverWebSocket(wsClient(app), PROJECT_STREAM, { projectId, after: `${cursor}0` }));
    await expired.waitForError();
    await request(app.url, UPDATE_PROGRESS, { id: job.id, progress: 7 });
    await request(app.url, `query { nope }`);

    expect(await metric(app, 'rte_connections{transport="ws"}')).toBe(3);
    expect(await metric(app, 'rte_connections{transport="sse"}')).toBe(1);
    expect(await metric(app, 'rte_subscriptions{field="projectEvents",mode="shared"}')).toBe(3);
    expect(await metric(app, 'rte_events_published_total{type="INGEST_JOB_UPDATED"}')).toBe(4);
    expect(await metric(app, 'rte_events_published_total{type="INGEST_JOB_CREATED"}')).toBe(1);
    // 4 live events to 3 subscribers; the resumed one had nothing to replay yet.
    expect(await metric(app, 'rte_deliveries_total')).toBe(12);
    expect(await metric(app, 'rte_delivery_latency_seconds_count')).toBe(4);
    expect(await metric(app, 'rte_resumes_total')).toBe(2);
    expect(await metric(app, 'rte_cursor_expired_total')).toBe(1);
    expect(await metric(app, 'rte_redis_up{role="commands"}')).toBe(1);
    // Node's process metrics come along, collected once per process.
    expect(await metric(app, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(await metric(app, 'rte_redis_up{role="subscriber"}')).toBe(1);
    expect(await metric(app, 'rte_graphql_operation_duration_seconds_count{operation="mutation"}')).toBeGreaterThanOrEqual(6);
    expect(await metric(app, 'rte_graphql_errors_total{code="BAD_USER_INPUT"}')).toBe(1);
    expect(await metric(app, 'rte_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}')).toBe(1);
    expect(await metric(app, 'rte_graphql_errors_total{code="CURSOR_EXPIRED"}')).toBe(1);
    // Labels stay bounded: no project or user appears in them.
    const text = await (await fetch(`${origin(app)}/metrics`)).text();
    expect(text).not.toContain(projectId);
  });
});

describe('health and readiness', () => {
  it('reports not ready while Redis is lost and ready again when it returns; health stays up', async () => {
    const privateRedis = await startPrivateRedis();
    teardown.push(() => privateRedis.dispose());
    const app = await pool.start({ ...testConfig('redis', prefix), redisUrl: privateRedis.url });
    const ready = async () => {
      const response = await fetch(`${origin(app)}/ready`);
      return { status: response.status, body: (await response.json()) as { status: string; reasons?: string[] } };
    };
    expect(await ready()).toEqual({ status: 200, body: { status: 'ready' } });
    await privateRedis.kill();
    await waitFor(async () => (await ready()).status === 503, { what: 'not ready' });
    expect((await ready()).body.reasons!.some((reason) => reason.startsWith('redis commands connection is'))).toBe(true);
    expect((await fetch(`${origin(app)}/health`)).status).toBe(200);
    expect(await metric(app, 'rte_redis_up{role="commands"}')).toBe(0);
    await privateRedis.start();
    await waitFor(async () => (await ready()).status === 200, { timeoutMs: 15_000, what: 'ready again' });
  });
});

describe('logs', () => {
  it('write one line per connection open and close, with its id and reason, and never a token', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const raw: string[] = [];
    const destination = new Writable({
      write(chunk, _, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          raw.push(line);
          lines.push(JSON.parse(line));
        }
        done();
      },
    });
    const app = await pool.start(testConfig('memory', prefix, { auth: { kind: 'secret', secret: TEST_SECRET }, logLevel: 'info' }), createLogger('info', destination));
    const token = await signToken({ sub: 'logger-test' });
    const ws = createClient({ url: webSocketUrl(app.url), webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, connectionParams: { authorization: bearer(token) } });
    teardown.push(() => ws.dispose());
    const sub = subscribeOverWebSocket(ws, PROJECT_STREAM, { projectId: 'logs' });
    const sse = subscribeOverSse(app.url, PROJECT_STREAM, { projectId: 'logs' }, { authorization: bearer(token) });
    teardown.push(() => sse.dispose());
    await waitFor(() => app.subscriberCount() === 2, { what: 'both connections' });
    await request(app.url, JOBS, { projectId: 'logs' }, { authorization: bearer(token) });
    sub.dispose();
    await ws.dispose();
    sse.dispose();
    await waitFor(() => lines.filter((line) => line.msg === 'connection closed').length === 2, { what: 'two close lines' });

    const opened = lines.filter((line) => line.msg === 'connection opened');
    const closed = lines.filter((line) => line.msg === 'connection closed');
    expect(opened.map((line) => line.transport).sort()).toEqual(['sse', 'ws']);
    for (const transport of ['ws', 'sse']) {
      const open = opened.find((line) => line.transport === transport)!;
      const close = closed.find((line) => line.transport === transport)!;
      expect(close.connectionId).toBe(open.connectionId);
      expect(close).toHaveProperty('reason');
    }
    expect(closed.find((line) => line.transport === 'ws')).toMatchObject({ code: 1000, subject: 'logger-test' });
    expect(raw.some((line) => line.includes(token))).toBe(false);
    expect(raw.some((line) => line.includes(TEST_SECRET))).toBe(false);
  });
});

describe('graceful drain', () => {
  it('stops being ready, refuses new connections, then sends clients on to another instance where they resume', async () => {
    const [draining, other] = await Promise.all([
      pool.start(testConfig('redis', prefix)),
      pool.start(testConfig('redis', prefix)),
    ]);
    const projectId = 'drain';
    const job = (await mutate(other.url, CREATE_JOB, { projectId, source: 's' })).createIngestJob;
    // A load balancer in miniature: the first connection goes to the draining instance, later ones to the other.
    let connections = 0;
    const client = createClient({
      url: () => webSocketUrl((connections++ === 0 ? draining : other).url),
      webSocketImpl: WebSocket,
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 20)),
    });
    teardown.push(() => client.dispose());
    const events: ProjectEvent['projectEvents'][] = [];
    const closeCodes: number[] = [];
    client.on('closed', (event) => closeCodes.push((event as { code: number }).code));
    const subscription = subscribeResumable<ProjectEvent>(client, { query: PROJECT_STREAM, variables: { projectId } }, {
      next: (result) => result.data && events.push(result.data.projectEvents),
      error: () => {},
      complete: () => {},
    });
    teardown.push(() => subscription.dispose());
    await waitFor(() => draining.feeds.subscriberCount(projectId) === 1, { what: 'the subscriber on the draining instance' });

    let progress = 0;
    const publish = async (count: number) => {
      for (let index = 0; index < count; index++) await mutate(other.url, UPDATE_PROGRESS, { id: job.id, progress: ++progress / 100 });
    };
    await publish(10);
    const drained = draining.drain(600);
    // Not ready at once (while still answering, so a load balancer can see it), then new
    // connections are refused while the open ones are still served.
    expect((await fetch(`${origin(draining)}/ready`, { headers: { connection: 'close' } })).status).toBe(503);
    // Requests reaching it meanwhile are still served.
    const served = await request(draining.url, UPDATE_PROGRESS, { id: job.id, progress: ++progress / 100 });
    expect(served.errors).toBeUndefined();
    await publish(19);
    await waitFor(
      () => fetch(`${origin(draining)}/health`, { headers: { connection: 'close' } }).then(() => false, () => true),
      { what: 'new connections to be refused' },
    );
    await drained;
    await waitFor(() => other.feeds.subscriberCount(projectId) === 1, { what: 'the client to move to the other instance' });
    await publish(30);
    await waitFor(() => events.length === 60, { timeoutMs: 10_000, what: 'every event' });
    expect(closeCodes[0]).toBe(1012);
    expect(events.map((event) => cursorSeq(event.cursor))).toEqual(Array.from({ length: 60 }, (_, index) => index + 2));
  });
});

describe('three instances on one Redis', () => {
  it('give every subscriber every event of its project exactly once, in order, with publishers on all three', async () => {
    const apps = await Promise.all([0, 1, 2].map(() => pool.start(testConfig('redis', prefix))));
    const projects = ['cluster-a', 'cluster-b'];
    const subscribers = Array.from({ length: 12 }, (_, index) => {
      const app = apps[index % 3]!;
      const projectId = projects[index % 2]!;
      return { projectId, subscription: track(subscribeOverWebSocket<ProjectEvent>(wsClient(app), PROJECT_STREAM, { projectId })) };
    });
    await waitFor(() => apps.every((app) => app.subscriberCount() === 4), { what: 'four subscribers per instance' });
    const jobs = await Promise.all(projects.map(async (projectId, index) => (await mutate(apps[index]!.url, CREATE_JOB, { projectId, source: 's' })).createIngestJob));
    // 3 publishers per project, one on each instance, all at once.
    await Promise.all(
      jobs.flatMap((job) =>
        apps.map(async (app, publisher) => {
          for (let step = 0; step < 20; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: (publisher * 20 + step) / 100 });
        }),
      ),
    );
    const reference = new Map<string, string[]>();
    for (const { projectId, subscription } of subscribers) {
      const received = (await subscription.waitForResults(61, 15_000)).map((result) => result.projectEvents);
      const positions = received.map((event) => cursorSeq(event.cursor));
      expect(positions).toEqual(Array.from({ length: 61 }, (_, index) => index + 1));
      const cursors = received.map((event) => event.cursor);
      if (!reference.has(projectId)) reference.set(projectId, cursors);
      expect(cursors).toEqual(reference.get(projectId));
    }
  });
});
