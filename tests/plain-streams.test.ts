import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { GraphQLEnumType } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { DOTTED_EVENT_NAMES, dottedEventName, eventTypeOfDottedName } from '../src/events/event-names.js';
import { EVENT_TYPES } from '../src/events/event-record.js';
import { createLogger } from '../src/observability/logger.js';
import { createEventsSchema } from '../src/schema.js';
import { redactedUrl } from '../src/transport/plain/plain-routes.js';
import { connectWebSocket, mutate, request, subscribeOverWebSocket } from './support/clients.js';
import type { PlainMessage, PlainSseStream, PlainWebSocketStream } from './support/plain-clients.js';
import { openPlainSse, openPlainWebSocket, parseSse, plainStreamUrl } from './support/plain-clients.js';
import {
  APPEND_CONTENT,
  APPEND_MESSAGE,
  COMPLETE_JOB,
  CREATE_JOB,
  EVENTS_WITH_EVERY_FIELD,
  FINISH_MESSAGE,
  PROJECT_STREAM,
  START_MESSAGE,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  cursorSeq,
} from './support/operations.js';
import { redisForTests } from './support/redis.js';
import { EVERY_EVENT_TYPE_IN_ORDER, runEveryEventType } from './support/scenario.js';
import { createAppPool, testConfig } from './support/servers.js';
import { createTeardown } from './support/teardown.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { waitFor } from './support/wait-for.js';

const { prefix } = redisForTests('plain');
const pool = createAppPool();
// Registered before the teardown, so it runs after it: clients go before their servers.
afterEach(() => pool.stopAll());
const teardown = createTeardown();

const withConfig = (overrides: Partial<Config> = {}) => pool.start(testConfig('redis', prefix, overrides));
const secured = (overrides: Partial<Config> = {}) => withConfig({ auth: { kind: 'secret', secret: TEST_SECRET }, ...overrides });
const withLimits = (limits: Partial<Config['limits']>, overrides: Partial<Config> = {}) =>
  withConfig({ limits: { ...testConfig('redis', prefix).limits, ...limits }, ...overrides });
const auth = (token: string) => ({ authorization: bearer(token) });

function ws(app: App, path: string, options: Parameters<typeof openPlainWebSocket>[1] = {}): PlainWebSocketStream {
  const stream = openPlainWebSocket(plainStreamUrl(app.url, path, 'ws'), options);
  teardown.push(() => stream.socket.terminate());
  return stream;
}

async function sse(app: App, path: string, headers: Record<string, string> = {}): Promise<PlainSseStream> {
  const stream = await openPlainSse(plainStreamUrl(app.url, path), headers);
  teardown.push(() => stream.close());
  return stream;
}

function graphqlClient(app: App, token?: string): Client {
  const client = connectWebSocket(app.url, { connectionParams: token ? auth(token) : {}, onNonLazyError: () => {} });
  teardown.push(() => client.dispose());
  return client;
}

/** Waits until the app holds `count` subscriptions in all, every plain stream among them. */
const live = (app: App, count: number) => waitFor(() => app.subscriberCount() === count, { what: `${count} live subscriptions` });

const metricsOf = async (app: App) => (await fetch(new URL('/metrics', app.url))).text();

/** A stream opened with raw HTTP whose reader stops once the stream started: its buffers fill. */
function stalledSse(app: App, path: string): { closed: () => boolean; resume(): void } {
  let closed = false;
  let response: IncomingMessage | undefined;
  const stalled = httpRequest(plainStreamUrl(app.url, path), { headers: { accept: 'text/event-stream' } });
  stalled.on('error', () => {});
  stalled.on('response', (started) => {
    response = started;
    started.once('data', () => started.pause());
    started.on('close', () => void (closed = true));
    started.on('error', () => {});
  });
  stalled.end();
  teardown.push(() => stalled.destroy());
  return { closed: () => closed, resume: () => response?.resume() };
}

const DOTTED: Record<string, string> = {
  INGEST_JOB_CREATED: 'ingest.job.created',
  INGEST_JOB_UPDATED: 'ingest.job.updated',
  INGEST_JOB_COMPLETED: 'ingest.job.completed',
  INGEST_JOB_FAILED: 'ingest.job.failed',
  AGENT_RUN_CREATED: 'agent.run.created',
  AGENT_RUN_UPDATED: 'agent.run.updated',
  AGENT_RUN_COMPLETED: 'agent.run.completed',
  AGENT_RUN_FAILED: 'agent.run.failed',
  AGENT_STEP_UPDATED: 'agent.step.updated',
  AGENT_MESSAGE_APPENDED: 'agent.message.appended',
  AGENT_MESSAGE_DELTA: 'agent.message.delta',
  AGENT_MESSAGE_COMPLETED: 'agent.message.completed',
  WORKFLOW_NODE_STATE_UPDATED: 'workflow.node_state.updated',
  WORKFLOW_RUN_UPDATED: 'workflow.run.updated',
};

describe('dotted event names', () => {
  it('name every event type of the schema one to one: domain, what changed, what happened', () => {
    const schemaEnum = createEventsSchema().getType('EventType') as GraphQLEnumType;
    expect(EVENT_TYPES).toEqual(schemaEnum.getValues().map((value) => value.name));
    expect(Object.fromEntries(EVENT_TYPES.map((type) => [type, dottedEventName(type)]))).toEqual(DOTTED);
    for (const type of EVENT_TYPES) expect(eventTypeOfDottedName(dottedEventName(type))).toBe(type);
    expect(new Set(DOTTED_EVENT_NAMES).size).toBe(EVENT_TYPES.length);
    expect(eventTypeOfDottedName('INGEST_JOB_CREATED')).toBeUndefined();
  });
});

describe('URLs in logs', () => {
  it('keep what was sent except access_token values, however the name is encoded', () => {
    expect(
      [
        '/api/stream/projects/p?types=a,b&access_token=aaa.bbb.ccc',
        '/api/stream/projects/p?access%5Ftoken=aaa.bbb.ccc&after=e:1',
        '/api/stream/projects/p?%61ccess_token=aaa.bbb.ccc',
        '/api/stream/projects/p?after=e:1?access_token=aaa.bbb.ccc',
        '/api/stream/projects/p',
      ].map(redactedUrl),
    ).toEqual([
      '/api/stream/projects/p?types=a,b&access_token=REDACTED',
      '/api/stream/projects/p?access%5Ftoken=REDACTED&after=e:1',
      '/api/stream/projects/p?%61ccess_token=REDACTED',
      '/api/stream/projects/p?after=e:1?access_token=REDACTED',
      '/api/stream/projects/p',
    ]);
  });
});

describe('plain streams', () => {
  it('write each event as one JSON message holding what the GraphQL event holds, over WebSocket and SSE', async () => {
    const app = await withConfig();
    const projectId = 'plain-shape';
    const overWs = ws(app, `/api/stream/projects/${projectId}`);
    const overSse = await sse(app, `/api/stream/projects/${projectId}`);
    await live(app, 2);
    await runEveryEventType(app.url, projectId);

    const expected = (await request<any>(app.url, EVENTS_WITH_EVERY_FIELD, { projectId })).data!.events.map(
      ({ type, agentRun, workflowRun, ...fields }: Record<string, any>) => ({
        type: DOTTED[type],
        ...fields,
        ...(agentRun || workflowRun ? { run: agentRun ?? workflowRun } : {}),
      }),
    );
    expect(expected.map((message: PlainMessage) => message.type)).toEqual(EVERY_EVENT_TYPE_IN_ORDER.map((type) => DOTTED[type]));
    expect(await overWs.waitForMessages(expected.length)).toEqual(expected);
    expect(await overSse.waitForMessages(expected.length)).toEqual(expected);

    // The envelope leads; null fields are there as GraphQL gives them; nothing internal.
    const step = overWs.messages.find((message) => message.type === 'agent.step.updated')!;
    expect(Object.keys(step)).toEqual(['type', 'cursor', 'projectId', 'occurredAt', 'run', 'step', 'message', 'messageDelta']);
    expect(Object.keys(step.step as object)).toEqual(['id', 'name', 'status', 'startedAt', 'finishedAt']);
    const started = overWs.messages.find((message) => message.type === 'workflow.run.updated')!;
    expect((started.nodes as object[]).map((node) => Object.keys(node))).toEqual([
      ['nodeId', 'status', 'output', 'error', 'updatedAt'],
      ['nodeId', 'status', 'output', 'error', 'updatedAt'],
    ]);
    // Every SSE event names its cursor and its type.
    expect(overSse.events().map((event) => [event.id, event.event])).toEqual(expected.map((message: PlainMessage) => [message.cursor, message.type]));
    expect(overSse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(overSse.headers.get('cache-control')).toBe('no-cache');
    expect(overSse.headers.get('x-accel-buffering')).toBe('no');
    expect(parseSse(overSse.text).retry).toBe(1000);
  });

  it('narrow by path to one job or run, and the project stream by ?types=, in order', async () => {
    const app = await withConfig();
    const projectId = 'plain-paths';
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'wanted' })).createIngestJob;
    const otherJob = (await mutate(app.url, CREATE_JOB, { projectId, source: 'other' })).createIngestJob;
    const run = (await mutate(app.url, START_RUN, { projectId, agent: 'writer' })).startAgentRun;
    const otherRun = (await mutate(app.url, START_RUN, { projectId, agent: 'other' })).startAgentRun;
    const flow = (await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['a'] })).startWorkflowRun;
    const otherFlow = (await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['a'] })).startWorkflowRun;

    const jobStream = ws(app, `/api/stream/projects/${projectId}/ingest/${job.id}`);
    const runStream = await sse(app, `/api/stream/projects/${projectId}/agent-runs/${run.id}`);
    const flowStream = ws(app, `/api/stream/projects/${projectId}/workflow-runs/${flow.id}`);
    const typed = await sse(app, `/api/stream/projects/${projectId}?types=ingest.job.completed,agent.message.delta`);
    await live(app, 4);

    await mutate(app.url, UPDATE_PROGRESS, { id: otherJob.id, progress: 0.9 });
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 });
    await mutate(app.url, APPEND_MESSAGE, { runId: otherRun.id, role: 'USER', content: 'not this one' });
    // A streamed message: later event types follow the same naming rule.
    const streamed = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
    await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: streamed.id, text: 'Hello' });
    await mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: streamed.id });
    await mutate(app.url, UPDATE_NODE, { runId: otherFlow.id, nodeId: 'a', status: 'RUNNING' });
    await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'a', status: 'SUCCEEDED' });
    await mutate(app.url, COMPLETE_JOB, { id: job.id });

    // Each stream's last event is a marker: nothing else of the others can be on its way.
    expect((await jobStream.waitForMessages(2)).map((message) => [message.type, (message.job as any).progress])).toEqual([
      ['ingest.job.updated', 0.5],
      ['ingest.job.completed', 1],
    ]);
    const runMessages = await runStream.waitForMessages(3);
    expect(runMessages.map((message) => message.type)).toEqual(['agent.message.appended', 'agent.message.delta', 'agent.message.completed']);
    const delta = runMessages.find((message) => message.type === 'agent.message.delta')!;
    expect(delta.messageDelta).toEqual({ messageId: streamed.id, offset: 0, text: 'Hello' });
    expect((runMessages.at(-1)!.message as any).content).toBe('Hello');
    expect((await flowStream.waitForMessages(1)).map((message) => [message.type, (message.nodeState as any).status])).toEqual([
      ['workflow.node_state.updated', 'SUCCEEDED'],
    ]);
    expect((await typed.waitForMessages(2)).map((message) => message.type)).toEqual(['agent.message.delta', 'ingest.job.completed']);
    for (const stream of [jobStream, flowStream]) expect(stream.messages.every((message) => message.projectId === projectId)).toBe(true);
  });

  it('resume after ?after= on both transports and after Last-Event-ID on SSE, replayed then shared, with no gap and no repeat', async () => {
    const app = await withConfig();
    const projectId = 'plain-resume';
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'r' })).createIngestJob;
    const anchor = ws(app, `/api/stream/projects/${projectId}`);
    await live(app, 1);
    for (let step = 1; step <= 4; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 10 });
    const seen = await anchor.waitForMessages(4);

    const afterFirst = ws(app, `/api/stream/projects/${projectId}?after=${seen[0]!.cursor}`);
    const afterSecond = await sse(app, `/api/stream/projects/${projectId}?after=${seen[1]!.cursor}`);
    // EventSource reconnects to the URL it opened, `after` included, and says how far it got since.
    const reconnected = await sse(app, `/api/stream/projects/${projectId}?after=${seen[0]!.cursor}`, { 'last-event-id': seen[2]!.cursor });
    const progress = (messages: PlainMessage[]) => messages.map((message) => (message.job as any).progress);
    expect(progress(await afterFirst.waitForMessages(3))).toEqual([0.2, 0.3, 0.4]);
    expect(progress(await afterSecond.waitForMessages(2))).toEqual([0.3, 0.4]);
    expect(progress(await reconnected.waitForMessages(1))).toEqual([0.4]);
    await live(app, 4);
    // Replayed on their own, then members of the one audience of this path.
    expect(app.audienceCount()).toBe(1);

    await mutate(app.url, COMPLETE_JOB, { id: job.id });
    for (const [stream, from] of [
      [afterFirst, 1],
      [afterSecond, 2],
      [reconnected, 3],
    ] as const) {
      const messages = await stream.waitForMessages(5 - from);
      const after = cursorSeq(seen[from - 1]!.cursor);
      expect(messages.map((message) => cursorSeq(message.cursor))).toEqual(Array.from({ length: 5 - from }, (_, index) => after + index + 1));
      expect(messages.at(-1)!.type).toBe('ingest.job.completed');
    }
  });

  it('share one audience per path, filters and read decision, apart from GraphQL subscribers of the same field', async () => {
    const app = await secured();
    const admin = auth(await signToken());
    const reader = await signToken({ sub: 'reader', projects: ['shared-plain'] });
    const otherReader = await signToken({ sub: 'other', projects: ['shared-plain', 'elsewhere'] });
    const path = '/api/stream/projects/shared-plain';
    const members = [
      ws(app, path, { headers: auth(reader) }),
      ws(app, `${path}?access_token=${otherReader}`),
      await sse(app, path, auth(otherReader)),
    ];
    await live(app, 3);
    // Two WebSockets and an SSE stream, three subjects' tokens, one read decision: one audience.
    expect(app.audienceCount()).toBe(1);
    const sameTypesReordered = [
      await sse(app, `${path}?types=ingest.job.updated,ingest.job.created&access_token=${reader}`),
      ws(app, `${path}?types=ingest.job.created,ingest.job.updated,ingest.job.created`, { headers: auth(reader) }),
    ];
    await live(app, 5);
    expect(app.audienceCount()).toBe(2);
    const graphql = subscribeOverWebSocket(graphqlClient(app, reader), PROJECT_STREAM, { projectId: 'shared-plain' });
    teardown.push(() => graphql.dispose());
    await live(app, 6);
    expect(app.audienceCount()).toBe(3);
    const gauge = await app.metrics.subscriptions.get();
    expect(gauge.values.filter((sample) => sample.labels.field === 'projectEvents').map((sample) => [sample.labels.mode, sample.value])).toEqual([
      ['shared', 6],
    ]);

    const job = (await mutate(app.url, CREATE_JOB, { projectId: 'shared-plain', source: 's' }, admin)).createIngestJob;
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 }, admin);
    for (const member of [...members, ...sameTypesReordered]) {
      expect((await member.waitForMessages(2)).map((message) => message.type)).toEqual(['ingest.job.created', 'ingest.job.updated']);
    }
    expect((await graphql.waitForResults(2)).map((result: any) => result.projectEvents.type)).toEqual(['INGEST_JOB_CREATED', 'INGEST_JOB_UPDATED']);

    // The last member leaving ends its audience and releases the feed.
    for (const member of [...members, ...sameTypesReordered]) {
      if ('socket' in member) member.socket.close();
      else member.close();
    }
    graphql.dispose();
    await waitFor(() => app.audienceCount() === 0 && app.feeds.subscriberCount() === 0, { what: 'audiences to end' });
  });

  it('answer a path, cursor or type that is no stream with 404 or 400 and a JSON body, before the upgrade or the stream', async () => {
    const app = await withConfig();
    const cases: Array<[string, number, string, string]> = [
      ['/api/stream/projects/p/nothing/1', 404, 'NOT_FOUND', 'no stream at /api/stream/projects/p/nothing/1; streams are'],
      ['/api/stream/projects', 404, 'NOT_FOUND', 'no stream at /api/stream/projects;'],
      ['/api/stream/projects/p/ingest/j/more', 404, 'NOT_FOUND', 'no stream at'],
      ['/api/stream/projects/p?after=yesterday', 400, 'BAD_USER_INPUT', 'after: is not a cursor issued by this API: "yesterday"'],
      ['/api/stream/projects/p?types=ingest.job.created,ingest.job.exploded', 400, 'BAD_USER_INPUT', 'types: unknown event type "ingest.job.exploded"; known types are ingest.job.created,'],
      ['/api/stream/projects/p?types=INGEST_JOB_CREATED', 400, 'BAD_USER_INPUT', 'types: unknown event type "INGEST_JOB_CREATED"'],
      ['/api/stream/projects/p?types=', 400, 'BAD_USER_INPUT', 'types: must list dotted event names'],
      ['/api/stream/projects/p/ingest/j?types=ingest.job.created', 400, 'BAD_USER_INPUT', 'types: only /api/stream/projects/{projectId} takes types'],
      ['/api/stream/projects/p%20q', 400, 'BAD_USER_INPUT', 'projectId: must not contain whitespace, got "p q"'],
      ['/api/stream/projects/p/agent-runs/%E0%A4%A', 400, 'BAD_USER_INPUT', 'runId: is not valid percent-encoding'],
    ];
    for (const [path, status, code, message] of cases) {
      const overSse = await sse(app, path);
      expect([path, overSse.status, overSse.headers.get('content-type')]).toEqual([path, status, 'application/json']);
      expect(await overSse.json()).toEqual({ code, message: expect.stringContaining(message) });
      const refused = await ws(app, path).refused;
      expect([path, refused.status, refused.body]).toEqual([path, status, await overSse.json()]);
    }
    // Upgrades are routed by path: only /graphql and the plain streams take them.
    const elsewhere = await ws(app, '/api/other').refused;
    expect(elsewhere).toMatchObject({ status: 404, body: { code: 'NOT_FOUND', message: 'no WebSocket endpoint at /api/other' } });
    // Over plain HTTP the only representation is the event stream.
    const json = await sse(app, '/api/stream/projects/p', { accept: 'application/json' });
    expect([json.status, (await json.json()).code]).toEqual([406, 'NOT_ACCEPTABLE']);
    const posted = await fetch(plainStreamUrl(app.url, '/api/stream/projects/p'), { method: 'POST', headers: { accept: 'text/event-stream' } });
    expect([posted.status, (await posted.json()).code, posted.headers.get('allow')]).toEqual([405, 'METHOD_NOT_ALLOWED', 'GET, OPTIONS']);
    expect(app.subscriberCount()).toBe(0);
  });

  it('close a WebSocket with 4410 CURSOR_EXPIRED and send SSE event: error for a cursor that cannot be resumed', async () => {
    const app = await withConfig({ retention: { ...testConfig('redis', prefix).retention, maxEvents: 2 } });
    const projectId = 'plain-expired';
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 'x' })).createIngestJob;
    const anchor = ws(app, `/api/stream/projects/${projectId}`);
    await live(app, 1);
    for (let step = 1; step <= 4; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 10 });
    const [first] = await anchor.waitForMessages(4);
    const epoch = first!.cursor.split(':')[0];
    for (const after of [`${epoch}:1`, `${epoch}:999`, `another0epoch:1`]) {
      const overWs = ws(app, `/api/stream/projects/${projectId}?after=${after}`);
      expect(await overWs.closed).toEqual({ code: 4410, reason: 'CURSOR_EXPIRED' });
      expect(overWs.messages).toEqual([]);
      const overSse = await sse(app, `/api/stream/projects/${projectId}?after=${after}`);
      expect(overSse.status).toBe(200);
      await overSse.waitForEnd();
      const events = overSse.events();
      expect(events).toEqual([{ event: 'error', data: expect.any(String) }]);
      expect(JSON.parse(events[0]!.data)).toEqual({ code: 'CURSOR_EXPIRED', message: expect.stringContaining('cannot resume after this cursor') });
    }
    expect(app.subscriberCount()).toBe(1);
  });
});

describe('plain streams with authentication', () => {
  it('take the token from Authorization or ?access_token, and refuse with 401 or 403 before the upgrade or the stream', async () => {
    const app = await secured();
    const admin = auth(await signToken());
    const alice = await signToken({ sub: 'alice', projects: ['a'] });
    const writer = await signToken({ sub: 'writer', projects: ['a'], scope: 'events:write' });
    const refusals: Array<[string, Record<string, string>, number, string]> = [
      ['/api/stream/projects/a', {}, 401, 'missing Authorization: Bearer <token>'],
      ['/api/stream/projects/a?access_token=not.a.jwt', {}, 401, 'token rejected (ERR_JWS_INVALID)'],
      [`/api/stream/projects/a?access_token=${await signToken({ expiresIn: -60 })}`, {}, 401, 'token expired'],
      ['/api/stream/projects/a', { authorization: 'Basic dXNlcjpwYXNz' }, 401, 'Authorization must be "Bearer <jwt>"'],
      [`/api/stream/projects/b?access_token=${alice}`, {}, 403, 'this token does not give access to project "b"'],
      ['/api/stream/projects/a', auth(writer), 403, 'this token lacks the events:read scope'],
    ];
    for (const [path, headers, status, message] of refusals) {
      const code = status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      const overSse = await sse(app, path, headers);
      expect([overSse.status, await overSse.json()]).toEqual([status, { code, message }]);
      const refused = await ws(app, path, { headers }).refused;
      expect([refused.status, refused.body]).toEqual([status, { code, message }]);
      if (status === 401) {
        expect(overSse.headers.get('www-authenticate')).toBe('Bearer');
        expect(refused.headers['www-authenticate']).toBe('Bearer');
      }
    }

    const streams = [
      ws(app, `/api/stream/projects/a?access_token=${alice}`),
      ws(app, '/api/stream/projects/a', { headers: auth(alice) }),
      await sse(app, `/api/stream/projects/a?access_token=${alice}`),
      await sse(app, '/api/stream/projects/a', auth(alice)),
    ];
    await live(app, 4);
    await mutate(app.url, CREATE_JOB, { projectId: 'b', source: 'not for alice' }, admin);
    await mutate(app.url, CREATE_JOB, { projectId: 'a', source: 'marker' }, admin);
    for (const stream of streams) {
      expect((await stream.waitForMessages(1)).map((message) => [message.projectId, (message.job as any).source])).toEqual([['a', 'marker']]);
    }
    expect(app.feeds.subscriberCount('b')).toBe(0);
  });

  it('end a stream when its token expires: the WebSocket with 4403, SSE with event: error', async () => {
    const app = await secured();
    const shortLived = await signToken({ sub: 'short', projects: ['p'], expiresIn: 2 });
    const lasting = await signToken({ sub: 'lasting', projects: ['p'] });
    const expiringWs = ws(app, `/api/stream/projects/p?access_token=${shortLived}`);
    const expiringSse = await sse(app, `/api/stream/projects/p?access_token=${shortLived}`);
    const stays = ws(app, `/api/stream/projects/p?access_token=${lasting}`);
    await live(app, 3);
    expect(app.audienceCount()).toBe(1);
    expect(await expiringWs.closed).toEqual({ code: 4403, reason: 'Token expired' });
    await expiringSse.waitForEnd();
    expect(expiringSse.events().map((event) => [event.event, JSON.parse(event.data)])).toEqual([
      ['error', { code: 'UNAUTHENTICATED', message: 'token expired' }],
    ]);
    await live(app, 1);
    await mutate(app.url, CREATE_JOB, { projectId: 'p', source: 'after expiry' }, auth(await signToken()));
    expect((await stays.waitForMessages(1))[0]!.type).toBe('ingest.job.created');
  });

  it('never write an access_token into a log line or a metric', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const app = await pool.start(testConfig('redis', prefix, { auth: { kind: 'secret', secret: TEST_SECRET }, logLevel: 'info' }), logger);
    const token = await signToken({ sub: 'logged', projects: ['private-project'] });
    const badToken = `${token.slice(0, -4)}AAAA`;
    const streams = [
      ws(app, `/api/stream/projects/private-project?access_token=${token}`),
      await sse(app, `/api/stream/projects/private-project?types=ingest.job.created&access_token=${token}`),
    ];
    await live(app, 2);
    await (await sse(app, `/api/stream/projects/private-project?access_token=${badToken}`)).waitForEnd();
    await ws(app, `/api/stream/projects/private-project?access_token=${badToken}`).refused;
    await mutate(app.url, CREATE_JOB, { projectId: 'private-project', source: 's' }, auth(await signToken()));
    for (const stream of streams) await stream.waitForMessages(1);
    for (const stream of streams) {
      if ('socket' in stream) stream.socket.close();
      else stream.close();
    }
    await waitFor(() => lines.filter((line) => line.includes('"connection closed"')).length === 2, { what: 'both close lines' });

    const logged = lines.join('');
    for (const secret of [token, badToken, token.split('.')[2]!, badToken.split('.')[2]!]) expect(logged).not.toContain(secret);
    const opened = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'connection opened');
    // The two open concurrently; their lines come in either order.
    expect(opened.map((entry) => [entry.transport, entry.url]).sort()).toEqual([
      ['sse-plain', '/api/stream/projects/private-project?types=ingest.job.created&access_token=REDACTED'],
      ['ws-plain', '/api/stream/projects/private-project?access_token=REDACTED'],
    ]);
    const refused = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'stream refused');
    expect(refused.map((entry) => [entry.transport, entry.status, entry.url])).toEqual([
      ['sse-plain', 401, '/api/stream/projects/private-project?access_token=REDACTED'],
      ['ws-plain', 401, '/api/stream/projects/private-project?access_token=REDACTED'],
    ]);
    const metrics = await metricsOf(app);
    expect(metrics).not.toContain(token.split('.')[2]!);
    expect(metrics).not.toContain('private-project');
    expect(metrics).not.toContain('logged');
  });
});

describe('plain streams share GraphQL’s limits', () => {
  it('count toward MAX_CONNECTIONS_PER_SUBJECT with GraphQL connections, refused with 429 beyond it', async () => {
    const app = await withLimits({ maxConnectionsPerSubject: 2 }, { auth: { kind: 'secret', secret: TEST_SECRET } });
    const token = await signToken({ sub: 'busy' });
    const graphql = subscribeOverWebSocket(graphqlClient(app, token), PROJECT_STREAM, { projectId: 'p' });
    teardown.push(() => graphql.dispose());
    const plain = ws(app, `/api/stream/projects/p?access_token=${token}`);
    await live(app, 2);
    const tooManySockets = await ws(app, `/api/stream/projects/p?access_token=${token}`).refused;
    expect([tooManySockets.status, tooManySockets.body.code]).toEqual([429, 'RATE_LIMITED']);
    const tooManyStreams = await sse(app, '/api/stream/projects/p', auth(token));
    expect([tooManyStreams.status, (await tooManyStreams.json()).code]).toEqual([429, 'RATE_LIMITED']);
    // Another subject is not affected, and a released slot can be taken again.
    await ws(app, `/api/stream/projects/p?access_token=${await signToken({ sub: 'someone-else' })}`).opened;
    plain.socket.close();
    await plain.closed;
    await live(app, 2);
    const again = await sse(app, '/api/stream/projects/p', auth(token));
    expect(again.status).toBe(200);
  });

  it('refuse a browser Origin outside WS_ALLOWED_ORIGINS on both transports, and let allowed ones read SSE across origins', async () => {
    const app = await withConfig({ allowedOrigins: ['https://app.example.com'] });
    const refused = await ws(app, '/api/stream/projects/p', { origin: 'https://evil.example.com' }).refused;
    expect([refused.status, refused.body]).toEqual([403, { code: 'FORBIDDEN', message: 'Origin not allowed' }]);
    const refusedSse = await sse(app, '/api/stream/projects/p', { origin: 'https://evil.example.com' });
    expect(refusedSse.status).toBe(403);
    expect(refusedSse.headers.get('access-control-allow-origin')).toBeNull();

    await ws(app, '/api/stream/projects/p', { origin: 'https://app.example.com' }).opened;
    const allowed = await sse(app, '/api/stream/projects/p', { origin: 'https://app.example.com' });
    expect([allowed.status, allowed.headers.get('access-control-allow-origin'), allowed.headers.get('vary')]).toEqual([
      200,
      'https://app.example.com',
      'Origin',
    ]);
    const preflight = await fetch(plainStreamUrl(app.url, '/api/stream/projects/p'), {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect([preflight.status, preflight.headers.get('access-control-allow-headers')]).toEqual([204, 'authorization, last-event-id, cache-control']);
    // Clients that are not browsers send no Origin.
    await ws(app, '/api/stream/projects/p').opened;
  });

  it('cut off a WebSocket with 4413 and an SSE stream whose reader stopped, while the rest of the audience keeps everything', async () => {
    const app = await withLimits({ outgoingBufferBytes: 65_536 });
    const flow = (await mutate(app.url, START_WORKFLOW, { projectId: 'slow', workflowId: 'w', nodeIds: ['n'] })).startWorkflowRun;
    const path = '/api/stream/projects/slow/workflow-runs/' + flow.id;
    const fast = ws(app, path);
    const slowWs = ws(app, path);
    const slowSse = stalledSse(app, path);
    await live(app, 3);
    await slowWs.opened;
    const tcp = (slowWs.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const output = 'x'.repeat(99_000);
    for (let index = 0; index < 60; index++) {
      await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'n', status: 'RUNNING', output: `${index}${output}` });
    }
    await live(app, 1);
    tcp.resume();
    slowSse.resume();
    expect(await slowWs.closed).toEqual({ code: 4413, reason: 'Slow consumer' });
    await waitFor(() => slowSse.closed(), { what: 'the stalled SSE connection to close' });
    const metrics = await metricsOf(app);
    expect(metrics).toContain('rte_slow_consumer_disconnects_total{transport="ws-plain"} 1');
    expect(metrics).toContain('rte_slow_consumer_disconnects_total{transport="sse-plain"} 1');
    const received = await fast.waitForMessages(60, 20_000);
    expect(received.map((message) => Number.parseInt((message.nodeState as any).output, 10))).toEqual(Array.from({ length: 60 }, (_, index) => index));
  });

  it('ping WebSockets and cut one that does not answer; send idle SSE streams a comment line', async () => {
    const app = await withConfig({ streamHeartbeatMs: 50 });
    const silent = ws(app, '/api/stream/projects/p', { autoPong: false });
    const answering = ws(app, '/api/stream/projects/p');
    const idle = await sse(app, '/api/stream/projects/p');
    let pings = 0;
    answering.socket.on('ping', () => pings++);
    expect((await silent.closed).code).toBe(1006);
    await waitFor(() => app.plainWebSocketCount() === 1, { what: 'the server to let the silent socket go' });
    await waitFor(() => pings >= 3 && parseSse(idle.text).comments >= 3, { what: 'three pings and three comment lines' });
    expect(answering.socket.readyState).toBe(answering.socket.OPEN);
    expect(idle.ended).toBe(false);
    const metrics = await metricsOf(app);
    expect(metrics).toContain('rte_connections{transport="ws-plain"} 1');
    expect(metrics).toContain('rte_connections{transport="sse-plain"} 1');
  });

  it('close WebSockets with 1012 and end SSE streams when the server drains', async () => {
    const app = await withConfig();
    const overWs = ws(app, '/api/stream/projects/p');
    const overSse = await sse(app, '/api/stream/projects/p');
    await live(app, 2);
    await app.drain(200);
    expect(await overWs.closed).toEqual({ code: 1012, reason: 'Server restarting' });
    await overSse.waitForEnd();
    expect(overSse.events()).toEqual([]);
  });
});
