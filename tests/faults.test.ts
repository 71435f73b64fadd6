import type { Client, FormattedExecutionResult } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { subscribeResumable } from '../client/src/resumable-subscription.js';
import { createRedisStateStore } from '../src/store/redis-state-store.js';
import { connectWebSocket, mutate, request, subscribeOverWebSocket, webSocketUrl } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import { CREATE_JOB, PROJECT_STREAM, UPDATE_PROGRESS, cursorSeq } from './support/operations.js';
import type { ServerProcess } from './support/processes.js';
import { freePort, spawnServer, startPrivateRedis } from './support/processes.js';
import { REDIS_URL, deleteKeys, redisForTests } from './support/redis.js';
import { createAppPool, testConfig } from './support/servers.js';
import { createTeardown } from './support/teardown.js';
import { waitFor } from './support/wait-for.js';

const { prefix, redis } = redisForTests('faults');
const pool = createAppPool();
// Registered before the teardown, so it runs after it: clients go before their servers.
afterEach(() => pool.stopAll());
const teardown = createTeardown();

/** A resumable subscription to every event of a project, recording what it delivers. */
function followProject(client: Client, projectId: string) {
  const events: ProjectEvent['projectEvents'][] = [];
  const errors: unknown[] = [];
  const subscription = subscribeResumable<ProjectEvent>(
    client,
    { query: PROJECT_STREAM, variables: { projectId } },
    {
      next: (result: FormattedExecutionResult<ProjectEvent, unknown>) => {
        if (result.errors) errors.push(result.errors);
        else events.push(result.data!.projectEvents);
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  teardown.push(() => subscription.dispose());
  return {
    events,
    errors,
    positions: () => events.map((event) => cursorSeq(event.cursor)),
    async waitFor(count: number, timeoutMs = 15_000) {
      await waitFor(() => events.length >= count || errors.length > 0, { timeoutMs, what: `${count} events` });
      expect(errors).toEqual([]);
    },
  };
}

/** Every position from the first seen, once, in order. */
function expectExactlyOnceInOrder(positions: number[], count: number) {
  expect(positions).toHaveLength(count);
  expect(positions).toEqual(Array.from({ length: count }, (_, index) => positions[0]! + index));
}

/** A graphql-ws client that reconnects for ever, waiting for `retryWait` before each try. */
function reconnectingClient(url: string, retryWait: () => Promise<void>, onSocket?: (socket: WebSocket) => void) {
  const client = createClient({
    url: webSocketUrl(url),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait,
    on: { connected: (socket) => onSocket?.(socket as WebSocket) },
  });
  teardown.push(() => client.dispose());
  return client;
}

describe('streams survive faults', () => {
  it('(a) a WebSocket client cut off while 500 events are published gets all 500, in order, once', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = 'cut-off';
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'a' })).createIngestJob;
    let socket: WebSocket | undefined;
    let reconnect!: () => void;
    const published = new Promise<void>((resolve) => (reconnect = resolve));
    const client = reconnectingClient(app.url, () => published, (connected) => (socket = connected));
    const stream = followProject(client, projectId);
    await waitFor(() => app.feeds.subscriberCount(projectId) === 1, { what: 'the subscriber' });
    for (let step = 1; step <= 10; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 1000 });
    await stream.waitFor(10);

    socket!.terminate();
    await waitFor(() => app.feeds.subscriberCount(projectId) === 0, { what: 'the server to see the client gone' });
    for (let step = 11; step <= 510; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 1000 });
    reconnect();

    await stream.waitFor(510);
    expectExactlyOnceInOrder(stream.positions(), 510);
    expect(stream.events.at(-1)!.job!.progress).toBe(0.51);
  });

  it('(b) a client rides through the kill and restart of the server process serving it, losing nothing', async () => {
    const serverPrefix = `${prefix}restart:`;
    teardown.push(() => deleteKeys(redis, serverPrefix));
    const port = await freePort();
    const env = { PORT: String(port), REDIS_URL, REDIS_KEY_PREFIX: serverPrefix, LOG_LEVEL: 'info' };
    let server: ServerProcess = spawnServer(env);
    teardown.push(() => server.child.kill('SIGKILL'));
    const url = await server.listening;
    // The publisher is another instance on the same Redis: it keeps accepting changes while
    // the subscriber's server is down.
    const publisher = await pool.start(testConfig('redis', serverPrefix));
    const projectId = 'restart';
    const job = (await mutate(publisher.url, CREATE_JOB, { projectId, source: 'b' })).createIngestJob;
    const client = reconnectingClient(url, () => new Promise((resolve) => setTimeout(resolve, 50)));
    const stream = followProject(client, projectId);
    // Another process's subscriber count cannot be read: the stream is live once a probe arrives.
    let progress = 0;
    const publish = () => mutate(publisher.url, UPDATE_PROGRESS, { id: job.id, progress: ++progress / 1000 });
    await waitFor(async () => stream.events.length > 0 || !(await publish()), { what: 'a first event' });

    const publishing = (async () => {
      for (let count = 0; count < 300; count++) await publish();
    })();
    await waitFor(() => stream.events.length >= 30, { what: 'events before the kill' });
    server.child.kill('SIGKILL');
    await server.exited;
    server = spawnServer(env);
    await server.listening;
    await publishing;
    // And changes made after the restart arrive live behind the replayed ones.
    for (let count = 0; count < 50; count++) await publish();

    const total = progress;
    await stream.waitFor(total - cursorSeq(stream.events[0]!.cursor) + 2);
    expectExactlyOnceInOrder(stream.positions(), total - stream.positions()[0]! + 2);
    expect(stream.events.at(-1)!.job!.progress).toBe(total / 1000);
  });

  it('(c) a Redis restart mid-stream: no crash, unconfirmed mutations refused, nothing acknowledged lost', async () => {
    const privateRedis = await startPrivateRedis();
    teardown.push(() => privateRedis.dispose());
    const app = await pool.start({ ...testConfig('redis', prefix), redisUrl: privateRedis.url });
    const projectId = 'redis-restart';
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'c' })).createIngestJob;
    const client = reconnectingClient(app.url, () => new Promise((resolve) => setTimeout(resolve, 50)));
    const stream = followProject(client, projectId);
    await waitFor(() => app.feeds.subscriberCount(projectId) === 1, { what: 'the subscriber' });

    const acknowledged: number[] = [];
    const refused: string[] = [];
    let attempt = 0;
    const tryUpdate = async () => {
      const progress = ++attempt / 10_000;
      const result = await request(app.url, UPDATE_PROGRESS, { id: job.id, progress });
      if (result.errors) refused.push(String(result.errors[0]!.extensions?.code));
      else acknowledged.push(progress);
    };
    for (let count = 0; count < 50; count++) await tryUpdate();
    await privateRedis.kill();
    // While Redis is down every mutation is refused at once, with a code that says why.
    for (let count = 0; count < 5; count++) await tryUpdate();
    expect(refused).toEqual(Array(5).fill('SERVICE_UNAVAILABLE'));
    await privateRedis.start();
    await waitFor(
      async () => {
        await tryUpdate();
        return acknowledged.length > 50;
      },
      { timeoutMs: 15_000, what: 'mutations to be accepted again' },
    );
    for (let count = 0; count < 50; count++) await tryUpdate();

    // Every acknowledged change reached the subscriber, once and in order.
    await waitFor(() => stream.events.some((event) => event.job?.progress === acknowledged.at(-1)), {
      what: 'the last acknowledged change',
    });
    const delivered = stream.events.map((event) => event.job!.progress);
    expect(delivered).toEqual(acknowledged);
    expectExactlyOnceInOrder(stream.positions(), acknowledged.length);
    expect(refused.every((code) => code === 'SERVICE_UNAVAILABLE')).toBe(true);
    // The server kept serving throughout, and a late joiner can still replay from the start.
    const replayClient = connectWebSocket(app.url);
    teardown.push(() => replayClient.dispose());
    const replay = subscribeOverWebSocket<ProjectEvent>(replayClient, PROJECT_STREAM, {
      projectId,
      after: stream.events[0]!.cursor,
    });
    teardown.push(() => replay.dispose());
    expect((await replay.waitForResults(acknowledged.length - 1)).map((result) => result.projectEvents.job!.progress)).toEqual(
      acknowledged.slice(1),
    );
  });

  it('(d) an instance that missed a live message notices the gap from the cursors and fills it from the log', async () => {
    const [a, b] = await Promise.all([pool.start(testConfig('redis', prefix)), pool.start(testConfig('redis', prefix))]);
    const projectId = 'missed';
    const clientOfB = connectWebSocket(b.url);
    teardown.push(() => clientOfB.dispose());
    const onB = subscribeOverWebSocket<ProjectEvent>(clientOfB, PROJECT_STREAM, { projectId });
    teardown.push(() => onB.dispose());
    await waitFor(() => b.feeds.subscriberCount(projectId) === 1, { what: 'the subscriber on B' });
    const job = (await mutate(a.url, CREATE_JOB, { projectId, source: 'd' })).createIngestJob;
    await onB.waitForResults(1);

    // A change committed to the log whose live message never went out, as when the
    // publishing instance dies between commit and publish.
    const silent = createRedisStateStore(redis, { prefix, retention: { maxEvents: 0, maxAgeMs: 0, finishedMs: 0 } });
    const stored = (await silent.get('ingestJob', job.id))!;
    const at = new Date().toISOString();
    const changed = { ...stored.value, status: 'RUNNING' as const, progress: 0.5, message: 'never published', updatedAt: at };
    await silent.commit({
      kind: 'ingestJob',
      id: job.id,
      projectId,
      expectedVersion: stored.version,
      value: changed,
      events: [{ type: 'INGEST_JOB_UPDATED', projectId, occurredAt: at, job: changed }],
    });
    await mutate(a.url, UPDATE_PROGRESS, { id: job.id, progress: 0.75 });

    const received = (await onB.waitForResults(3)).map((result) => result.projectEvents);
    expect(received.map((event) => event.job!.progress)).toEqual([0, 0.5, 0.75]);
    expectExactlyOnceInOrder(
      received.map((event) => cursorSeq(event.cursor)),
      3,
    );
  });

  it('(e) streamed text acknowledged before the server was killed, and not yet sent, survives and goes out after the restart', async () => {
    const serverPrefix = `${prefix}streamed:`;
    teardown.push(() => deleteKeys(redis, serverPrefix));
    const port = await freePort();
    // A window far longer than the test, so the acknowledged text is stored but not yet sent when the kill comes.
    const env = { PORT: String(port), REDIS_URL, REDIS_KEY_PREFIX: serverPrefix, LOG_LEVEL: 'info', AGENT_DELTA_WINDOW_MS: '1000' };
    let server: ServerProcess = spawnServer(env);
    teardown.push(() => server.child.kill('SIGKILL'));
    const url = await server.listening;
    const projectId = 'streamed';
    const observer = await pool.start(testConfig('redis', serverPrefix));
    const clientOfObserver = connectWebSocket(observer.url);
    teardown.push(() => clientOfObserver.dispose());
    const STREAM = `subscription ($projectId: ID!) {
      agentRun(projectId: $projectId) { cursor type message { id content status } messageDelta { messageId offset text } }
    }`;
    const events = subscribeOverWebSocket<any>(clientOfObserver, STREAM, { projectId });
    teardown.push(() => events.dispose());
    await waitFor(() => observer.feeds.subscriberCount(projectId) === 1, { what: 'the observer' });

    const run = (await mutate(url, `mutation { startAgentRun(projectId: "${projectId}", agent: "w") { id } }`)).startAgentRun;
    const message = (await mutate(url, `mutation ($runId: ID!) { startAgentMessage(runId: $runId, role: ASSISTANT) { id } }`, { runId: run.id }))
      .startAgentMessage;
    const APPEND = `mutation ($runId: ID!, $messageId: ID!, $text: String!) { appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text) { id } }`;
    await mutate(url, APPEND, { runId: run.id, messageId: message.id, text: 'acknowledged ' });
    await mutate(url, APPEND, { runId: run.id, messageId: message.id, text: 'before the kill' });
    server.child.kill('SIGKILL');
    await server.exited;
    // A marker on the same stream, committed after the kill: the first piece went out at once,
    // and the second was stored but not sent.
    await mutate(observer.url, `mutation ($runId: ID!) { updateAgentStep(runId: $runId, stepId: "marker", name: "marker", status: RUNNING) { id } }`, {
      runId: run.id,
    });
    await waitFor(() => events.results.some((result) => result.agentRun.type === 'AGENT_STEP_UPDATED'), { what: 'the marker' });
    expect(events.results.filter((result) => result.agentRun.type === 'AGENT_MESSAGE_DELTA').map((result) => result.agentRun.messageDelta.text)).toEqual([
      'acknowledged ',
    ]);

    const CONTENT = `query ($id: ID!) { agentRun(id: $id) { messages { content status } } }`;
    expect((await request(observer.url, CONTENT, { id: run.id })).data!.agentRun.messages).toEqual([
      { content: 'acknowledged before the kill', status: 'STREAMING' },
    ]);
    server = spawnServer(env);
    const restarted = await server.listening;
    await mutate(restarted, APPEND, { runId: run.id, messageId: message.id, text: ', and after.' });
    await mutate(restarted, `mutation ($runId: ID!, $messageId: ID!) { finishAgentMessage(runId: $runId, messageId: $messageId) { id } }`, {
      runId: run.id,
      messageId: message.id,
    });
    await waitFor(() => events.results.some((result) => result.agentRun.type === 'AGENT_MESSAGE_COMPLETED'), { what: 'the completion' });
    const received = events.results.map((result) => result.agentRun);
    const text = received.filter((event) => event.type === 'AGENT_MESSAGE_DELTA').map((event) => event.messageDelta.text).join('');
    expect(text).toBe('acknowledged before the kill, and after.');
    expect(received.at(-1)!.message).toEqual({ id: message.id, content: text, status: 'COMPLETE' });
    expectExactlyOnceInOrder(received.map((event) => cursorSeq(event.cursor)), received.length);
  });
});
