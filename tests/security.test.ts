import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { Client } from 'graphql-ws';
import { serverAudits } from 'graphql-http';
import { exportJWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import type { RecordedSubscription } from './support/clients.js';
import { connectWebSocket, mutate, request, subscribeOverSse, subscribeOverWebSocket, webSocketUrl } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import {
  APPEND_CONTENT,
  CREATE_JOB,
  JOB,
  JOBS,
  PROJECT_STREAM,
  START_MESSAGE,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
} from './support/operations.js';
import { createAppPool, testConfig } from './support/servers.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { createTeardown } from './support/teardown.js';
import { waitFor } from './support/wait-for.js';

const pool = createAppPool();
// Registered before the teardown, so it runs after it: clients go before their servers.
afterEach(() => pool.stopAll());
const teardown = createTeardown();

const secured = (overrides: Partial<Config> = {}) =>
  pool.start(testConfig('memory', 'unused:', { auth: { kind: 'secret', secret: TEST_SECRET }, ...overrides }));
const withLimits = (limits: Partial<Config['limits']>, overrides: Partial<Config> = {}) =>
  secured({ limits: { ...testConfig('memory', '').limits, ...limits }, ...overrides });

const auth = (token: string) => ({ authorization: bearer(token) });

function wsClient(app: App, token?: string, options: Parameters<typeof connectWebSocket>[1] = {}): Client {
  const client = connectWebSocket(app.url, {
    connectionParams: token ? { authorization: bearer(token) } : {},
    onNonLazyError: () => {},
    ...options,
  });
  teardown.push(() => client.dispose());
  return client;
}

function track<T>(subscription: RecordedSubscription<T>) {
  teardown.push(() => subscription.dispose());
  return subscription;
}

/** A WebSocket driven by hand, for the protocol's rules. */
function rawSocket(app: App, { protocol = 'graphql-transport-ws', origin }: { protocol?: string | null; origin?: string } = {}) {
  const socket = new WebSocket(webSocketUrl(app.url), protocol ?? [], origin ? { origin } : {});
  teardown.push(() => socket.terminate());
  const messages: Array<{ type: string; id?: string; payload?: unknown }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  socket.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_, response) => reject(new Error(`upgrade refused with ${response.statusCode}`)));
  });
  const send = (message: unknown) => socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  const acknowledged = async (token?: string) => {
    await opened;
    send({ type: 'connection_init', payload: token ? { authorization: bearer(token) } : {} });
    await waitFor(() => messages.some((message) => message.type === 'connection_ack'), { what: 'connection_ack' });
  };
  return { socket, messages, closed, opened, send, acknowledged };
}

describe('authentication', () => {
  it('answers HTTP requests without a valid token with 401 UNAUTHENTICATED', async () => {
    const app = await secured();
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'missing Authorization: Bearer <token>'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 'Authorization must be "Bearer <jwt>"'],
      [{ authorization: 'Bearer not.a.jwt' }, 'token rejected (ERR_JWS_INVALID)'],
      [auth(await signToken({ expiresIn: -60 })), 'token expired'],
      [auth(await signToken({}, new TextEncoder().encode('another-secret-that-is-long-enough-too'))), 'token signature is not valid'],
    ];
    for (const [headers, message] of cases) {
      const result = await request(app.url, JOBS, { projectId: 'p' }, headers);
      expect(result.status).toBe(401);
      expect(result.errors).toEqual([expect.objectContaining({ message, extensions: { code: 'UNAUTHENTICATED' } })]);
    }
    const ok = await request(app.url, JOBS, { projectId: 'p' }, auth(await signToken()));
    expect(ok).toMatchObject({ status: 200, data: { ingestJobs: [] } });
  });

  it('refuses an SSE stream without a valid token with 401', async () => {
    const app = await secured();
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: PROJECT_STREAM, variables: { projectId: 'p' } }),
    });
    expect(response.status).toBe(401);
    await response.body?.cancel();
  });

  it('closes a WebSocket with 4403 before any ack when connection_init carries no valid token', async () => {
    const app = await secured();
    for (const payload of [{}, { authorization: 'Bearer nope.nope.nope' }, { authorization: bearer(await signToken({ expiresIn: -1 })) }]) {
      const raw = rawSocket(app);
      await raw.opened;
      raw.send({ type: 'connection_init', payload });
      expect((await raw.closed).code).toBe(4403);
      expect(raw.messages).toEqual([]);
    }
    const raw = rawSocket(app);
    await raw.acknowledged(await signToken());
  });

  it('verifies RS256 tokens against a PEM public key and ES256 tokens against a JWKS URL', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const withPem = await pool.start(testConfig('memory', '', { auth: { kind: 'public-key', publicKeyPem: pem } }));
    const rsToken = await signToken({}, rsa.privateKey, 'RS256');
    expect((await request(withPem.url, JOBS, { projectId: 'p' }, auth(rsToken))).status).toBe(200);
    expect((await request(withPem.url, JOBS, { projectId: 'p' }, auth(await signToken()))).status).toBe(401);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
    const jwksServer = createServer((_, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    teardown.push(() => new Promise((resolve) => jwksServer.close(resolve)));
    const { port } = jwksServer.address() as { port: number };
    const withJwks = await pool.start(
      testConfig('memory', '', { auth: { kind: 'jwks', jwksUrl: new URL(`http://127.0.0.1:${port}/jwks.json`) } }),
    );
    const esToken = await signToken({}, ec.privateKey, 'ES256');
    expect((await request(withJwks.url, JOBS, { projectId: 'p' }, auth(esToken))).status).toBe(200);
    expect((await request(withJwks.url, JOBS, { projectId: 'p' }, auth(rsToken))).status).toBe(401);
    const raw = rawSocket(withJwks);
    await raw.acknowledged(esToken);
  });
});

describe('authorization per project', () => {
  it('gives FORBIDDEN or nothing outside the token’s projects and scopes, on every operation and transport', async () => {
    const app = await secured();
    const admin = auth(await signToken({ projects: ['*'] }));
    const alice = await signToken({ sub: 'alice', projects: ['a'] });
    const reader = await signToken({ sub: 'reader', projects: ['a', 'b'], scope: 'events:read' });
    const jobB = (await mutate(app.url, CREATE_JOB, { projectId: 'b', source: 'secret' }, admin)).createIngestJob;
    const jobA = (await mutate(app.url, CREATE_JOB, { projectId: 'a', source: 'mine' }, admin)).createIngestJob;

    const code = (result: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => result.errors?.[0]?.extensions?.code;
    // Lists and history of another project: refused, nothing leaks.
    expect(code(await request(app.url, JOBS, { projectId: 'b' }, auth(alice)))).toBe('FORBIDDEN');
    expect(code(await request(app.url, `query { projectSnapshot(projectId: "b") { cursor } }`, {}, auth(alice)))).toBe('FORBIDDEN');
    expect(code(await request(app.url, `query { events(projectId: "b") { cursor } }`, {}, auth(alice)))).toBe('FORBIDDEN');
    // Lookups by id: as if it did not exist.
    expect((await request(app.url, JOB, { id: jobB.id }, auth(alice))).data).toEqual({ ingestJob: null });
    expect((await request(app.url, JOB, { id: jobA.id }, auth(alice))).data!.ingestJob.id).toBe(jobA.id);
    const touch = await request(app.url, UPDATE_PROGRESS, { id: jobB.id, progress: 0.5 }, auth(alice));
    expect(touch.errors![0]).toMatchObject({ message: `Ingest job "${jobB.id}" does not exist`, extensions: { code: 'NOT_FOUND' } });
    expect(code(await request(app.url, CREATE_JOB, { projectId: 'b', source: 's' }, auth(alice)))).toBe('FORBIDDEN');
    // Reading is not writing.
    expect(code(await request(app.url, CREATE_JOB, { projectId: 'a', source: 's' }, auth(reader)))).toBe('FORBIDDEN');
    expect(code(await request(app.url, UPDATE_PROGRESS, { id: jobA.id, progress: 0.5 }, auth(reader)))).toBe('FORBIDDEN');
    expect((await request(app.url, JOB, { id: jobA.id }, admin)).data!.ingestJob.progress).toBe(0);
    // Streamed text, the hottest write, is checked the same way, also once its run is known to the instance.
    const runB = (await mutate(app.url, START_RUN, { projectId: 'b', agent: 'secret' }, admin)).startAgentRun;
    const streamed = (await mutate(app.url, START_MESSAGE, { runId: runB.id, role: 'ASSISTANT' }, admin)).startAgentMessage;
    const piece = { runId: runB.id, messageId: streamed.id, text: 'x' };
    await mutate(app.url, APPEND_CONTENT, piece, admin);
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(code(await request(app.url, APPEND_CONTENT, piece, auth(alice)))).toBe('NOT_FOUND');
      expect(code(await request(app.url, APPEND_CONTENT, piece, auth(reader)))).toBe('FORBIDDEN');
    }

    // Subscriptions are refused before any event, over WebSocket and SSE.
    const overWs = track(subscribeOverWebSocket(wsClient(app, alice), PROJECT_STREAM, { projectId: 'b' }));
    const overSse = track(subscribeOverSse(app.url, PROJECT_STREAM, { projectId: 'b' }, auth(alice)));
    for (const subscription of [overWs, overSse]) {
      const errors = (await subscription.waitForError()) as Array<{ extensions: { code: string } }>;
      expect(errors[0]!.extensions.code).toBe('FORBIDDEN');
      expect(subscription.results).toEqual([]);
    }
    const own = track(subscribeOverWebSocket<ProjectEvent>(wsClient(app, alice), PROJECT_STREAM, { projectId: 'a' }));
    await waitFor(() => app.feeds.subscriberCount('a') === 1, { what: "alice's subscription" });
    await mutate(app.url, UPDATE_PROGRESS, { id: jobB.id, progress: 0.1 }, admin);
    await mutate(app.url, UPDATE_PROGRESS, { id: jobA.id, progress: 0.2 }, admin);
    expect((await own.waitForResults(1)).map((result) => result.projectEvents.job!.id)).toEqual([jobA.id]);
    expect(app.feeds.subscriberCount('b')).toBe(0);
  });

  it('ends WebSocket connections and SSE streams when their token expires', async () => {
    const app = await secured();
    const shortLived = await signToken({ expiresIn: 2 });
    const raw = rawSocket(app);
    await raw.acknowledged(shortLived);
    const sse = track(subscribeOverSse(app.url, PROJECT_STREAM, { projectId: 'p' }, auth(shortLived)));
    await waitFor(() => app.feeds.subscriberCount('p') === 1, { what: 'the SSE stream' });
    expect(await raw.closed).toEqual({ code: 4403, reason: 'Token expired' });
    await waitFor(() => sse.completed, { timeoutMs: 5000, what: 'the SSE stream to end' });
    expect(app.feeds.subscriberCount('p')).toBe(0);
  });
});

describe('WebSocket protocol hygiene', () => {
  it('closes misbehaving sockets with the protocol’s codes while other clients keep receiving', async () => {
    const app = await withLimits({ connectionInitTimeoutMs: 200, maxPayloadBytes: 2048 });
    const token = await signToken();
    const healthy = track(subscribeOverWebSocket<ProjectEvent>(wsClient(app, token), PROJECT_STREAM, { projectId: 'p' }));
    await waitFor(() => app.feeds.subscriberCount('p') === 1, { what: 'the healthy subscriber' });
    const job = (await mutate(app.url, CREATE_JOB, { projectId: 'p', source: 's' }, auth(token))).createIngestJob;
    const subscribe = (id: string) => ({ id, type: 'subscribe', payload: { query: PROJECT_STREAM, variables: { projectId: 'p' } } });

    const withoutProtocol = rawSocket(app, { protocol: null });
    expect((await withoutProtocol.closed).code).toBe(4406);

    const silent = rawSocket(app);
    expect((await silent.closed).code).toBe(4408);

    const twice = rawSocket(app);
    await twice.acknowledged(token);
    twice.send({ type: 'connection_init', payload: { authorization: bearer(token) } });
    expect((await twice.closed).code).toBe(4429);

    const early = rawSocket(app);
    await early.opened;
    early.send(subscribe('1'));
    expect((await early.closed).code).toBe(4401);

    const duplicate = rawSocket(app);
    await duplicate.acknowledged(token);
    duplicate.send(subscribe('same'));
    duplicate.send(subscribe('same'));
    expect((await duplicate.closed).code).toBe(4409);

    for (const garbage of ['{{{', JSON.stringify({ type: 'dance' }), JSON.stringify({ type: 'subscribe', id: 7 })]) {
      const malformed = rawSocket(app);
      await malformed.acknowledged(token);
      malformed.send(garbage);
      expect((await malformed.closed).code).toBe(4400);
    }

    const huge = rawSocket(app);
    await huge.acknowledged(token);
    huge.send({ ...subscribe('big'), payload: { query: `query { __typename } # ${'x'.repeat(4096)}` } });
    expect((await huge.closed).code).toBe(1009);

    for (let step = 1; step <= 5; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 10 }, auth(token));
    expect((await healthy.waitForResults(6)).map((result) => result.projectEvents.type)).toEqual([
      'INGEST_JOB_CREATED',
      ...Array(5).fill('INGEST_JOB_UPDATED'),
    ]);
  });

  it('refuses the upgrade from an Origin outside the allowlist', async () => {
    const app = await secured({ allowedOrigins: ['https://app.example.com'] });
    await expect(rawSocket(app, { origin: 'https://evil.example.com' }).opened).rejects.toThrow('upgrade refused with 403');
    await rawSocket(app, { origin: 'https://app.example.com' }).acknowledged(await signToken());
  });
});

describe('document limits', () => {
  const DEEP = `query { projectSnapshot(projectId: "p") { agentRuns { steps { id } } } }`;
  const ALIASES = `query { ${Array.from({ length: 20 }, (_, index) => `a${index}: ingestJob(id: "${index}") { id }`).join(' ')} }`;
  const TOKENS = `query { ${Array(1200).fill('__typename').join(' ')} }`;
  const DIRECTIVES = `query { __typename ${'@skip(if: false) '.repeat(5)} }`;
  const COSTLY = `query { ${Array.from({ length: 8 }, (_, index) => `r${index}: agentRuns(projectId: "p") { id agent status }`).join(' ')} }`;

  /** The first error message a document gets over HTTP, SSE and WebSocket. */
  async function refusals(app: App, token: string, query: string): Promise<string[]> {
    const overHttp = await request(app.url, query, {}, auth(token));
    const overSse = track(subscribeOverSse(app.url, query, {}, auth(token)));
    const overWs = track(subscribeOverWebSocket(wsClient(app, token), query, {}));
    const first = async (subscription: RecordedSubscription<unknown>) =>
      ((await subscription.waitForError()) as Array<{ message: string }>)[0]!.message;
    return [overHttp.errors![0]!.message, await first(overSse), await first(overWs)];
  }

  it('refuses the same over-limit documents the same way over HTTP, SSE and WebSocket', async () => {
    const app = await withLimits({ maxDepth: 3, maxAliases: 10, maxTokens: 1000, maxDirectives: 3, maxCost: 50 });
    const token = await signToken();
    for (const [query, expected] of [
      [DEEP, 'Syntax Error: Query depth limit of 3 exceeded, found 4.'],
      [ALIASES, 'Syntax Error: Aliases limit of 10 exceeded, found 20.'],
      [TOKENS, 'Syntax Error: Token limit of 1000 exceeded.'],
      [DIRECTIVES, 'Syntax Error: Directives limit of 3 exceeded, found 5.'],
      [COSTLY, 'Syntax Error: Query Cost limit of 50 exceeded, found 52.'],
    ] as const) {
      expect(await refusals(app, token, query)).toEqual([expected, expected, expected]);
    }
  });

  it('turns off introspection and field suggestions in production, on every transport', async () => {
    const app = await secured({ production: true, graphiql: false });
    const token = await signToken();
    const introspection = await refusals(app, token, `query { __schema { types { name } } }`);
    for (const message of introspection) expect(message).toContain('introspection');
    const typo = await refusals(app, token, `query { ingestJobz(id: "x") { id } }`);
    for (const message of typo) {
      expect(message).toContain('Cannot query field "ingestJobz"');
      expect(message).not.toContain('Did you mean');
    }
  });
});

describe('resource limits', () => {
  it('limits subscriptions per connection and connections per subject, WebSocket and SSE together', async () => {
    const app = await withLimits({ maxSubscriptionsPerConnection: 2, maxConnectionsPerSubject: 2 });
    const token = await signToken({ sub: 'busy' });
    const client = wsClient(app, token);
    track(subscribeOverWebSocket(client, PROJECT_STREAM, { projectId: 'p' }));
    track(subscribeOverWebSocket(client, PROJECT_STREAM, { projectId: 'q' }));
    await waitFor(() => app.feeds.subscriberCount() === 2, { what: 'two subscriptions' });
    const third = track(subscribeOverWebSocket(client, PROJECT_STREAM, { projectId: 'r' }));
    const errors = (await third.waitForError()) as Array<{ message: string; extensions: { code: string } }>;
    expect(errors[0]).toMatchObject({ message: 'at most 2 operations per connection', extensions: { code: 'RATE_LIMITED' } });

    const sse = track(subscribeOverSse(app.url, PROJECT_STREAM, { projectId: 'p' }, auth(token)));
    await waitFor(() => app.subscriberCount() === 3, { what: 'the SSE stream' });
    const tooManySockets = rawSocket(app);
    await tooManySockets.opened;
    tooManySockets.send({ type: 'connection_init', payload: { authorization: bearer(token) } });
    expect(await tooManySockets.closed).toEqual({ code: 4420, reason: 'Too many connections for this token' });
    const tooManyStreams = track(subscribeOverSse(app.url, PROJECT_STREAM, { projectId: 'p' }, auth(token)));
    expect(((await tooManyStreams.waitForError()) as Array<{ extensions: { code: string } }>)[0]!.extensions.code).toBe('RATE_LIMITED');
    // Another subject is not affected, and a released slot can be taken again.
    await rawSocket(app).acknowledged(await signToken({ sub: 'someone-else' }));
    sse.dispose();
    await waitFor(() => app.subscriberCount() === 2, { what: 'the SSE stream to close' });
    await rawSocket(app).acknowledged(token);
  });

  it('rate-limits mutations per subject with 429 RATE_LIMITED', async () => {
    const app = await withLimits({ mutationsPerSecond: 1 });
    const hasty = auth(await signToken({ sub: 'hasty' }));
    const results = [];
    for (let index = 0; index < 3; index++) results.push(await request(app.url, CREATE_JOB, { projectId: 'p', source: 's' }, hasty));
    expect(results.map((result) => result.status)).toEqual([200, 200, 429]);
    expect(results[2]!.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 1 });
    const patient = auth(await signToken({ sub: 'patient' }));
    expect((await request(app.url, CREATE_JOB, { projectId: 'p', source: 's' }, patient)).status).toBe(200);
  });

  it('disconnects a client that stops reading with 4413, keeps memory bounded and fast clients whole', async () => {
    const app = await withLimits({ maxQueuedEvents: 10, outgoingBufferBytes: 65_536 });
    const token = await signToken();
    const admin = auth(token);
    const flow = (await mutate(app.url, START_WORKFLOW, { projectId: 'p', workflowId: 'w', nodeIds: ['n'] }, admin)).startWorkflowRun;
    const BIG = `subscription { workflowNodeState(projectId: "p") { cursor nodeState { output } } }`;
    const fast = track(subscribeOverWebSocket<any>(wsClient(app, token), BIG, {}));
    const slow = rawSocket(app);
    await slow.acknowledged(token);
    slow.send({ id: 'slow', type: 'subscribe', payload: { query: BIG } });
    await waitFor(() => app.subscriberCount() === 2, { what: 'both subscribers' });
    // Stop reading: the kernel buffers fill, then the server's.
    const tcp = (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();

    const output = 'x'.repeat(99_000);
    for (let index = 0; index < 100; index++) {
      await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'n', status: 'RUNNING', output: `${index}${output}` }, admin);
    }
    // The server drops the subscription and its queue as soon as the budget is exceeded.
    await waitFor(() => app.subscriberCount() === 1, { what: 'the slow subscriber to be released' });
    tcp.resume();
    expect(await slow.closed).toEqual({ code: 4413, reason: 'Slow consumer' });
    const received = await fast.waitForResults(100, 20_000);
    expect(received.map((result) => Number.parseInt(result.workflowNodeState.nodeState.output, 10))).toEqual(
      Array.from({ length: 100 }, (_, index) => index),
    );
  });
});

describe('GraphQL over HTTP compliance', () => {
  it('passes every MUST audit of graphql-http', async () => {
    const app = await pool.start(testConfig('memory', ''));
    const results = await Promise.all(serverAudits({ url: app.url, fetchFn: fetch }).map((audit) => audit.fn()));
    const failedMusts = results.filter((result) => result.name.startsWith('MUST') && result.status !== 'ok');
    expect(failedMusts.map((result) => `${result.name}: ${'reason' in result ? result.reason : ''}`)).toEqual([]);
    expect(results.filter((result) => result.name.startsWith('MUST')).length).toBeGreaterThan(10);
  });
});

describe('shared fan-out', () => {
  it('shares an execution between subscribers whose rights on the watched project are the same', async () => {
    const app = await secured();
    const admin = auth(await signToken());
    const narrow = await signToken({ sub: 'narrow', projects: ['shared'] });
    const sameRights = await signToken({ sub: 'other-user', projects: ['shared'] });
    const wide = await signToken({ sub: 'wide', projects: ['shared', 'elsewhere'] });
    const streams = [narrow, sameRights, wide].map((token) =>
      track(subscribeOverWebSocket<ProjectEvent>(wsClient(app, token), PROJECT_STREAM, { projectId: 'shared' })),
    );
    await waitFor(() => app.subscriberCount() === 3, { what: 'three subscribers' });
    // Claims about other projects do not change what this stream shows, so they share.
    expect(app.audienceCount()).toBe(1);
    // Every member counts as a subscription, however many share an audience.
    const gauge = await app.metrics.subscriptions.get();
    expect(gauge.values.filter((sample) => sample.labels.field === 'projectEvents').map((sample) => [sample.labels.mode, sample.value])).toEqual([
      ['shared', 3],
    ]);
    const typed = track(
      subscribeOverWebSocket<ProjectEvent>(wsClient(app, narrow), PROJECT_STREAM, { projectId: 'shared', types: ['INGEST_JOB_UPDATED'] }),
    );
    await waitFor(() => app.subscriberCount() === 4, { what: 'the filtered subscriber' });
    expect(app.audienceCount()).toBe(2);

    const job = (await mutate(app.url, CREATE_JOB, { projectId: 'shared', source: 's' }, admin)).createIngestJob;
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 }, admin);
    for (const stream of streams) {
      expect((await stream.waitForResults(2)).map((result) => result.projectEvents.type)).toEqual([
        'INGEST_JOB_CREATED',
        'INGEST_JOB_UPDATED',
      ]);
    }
    expect((await typed.waitForResults(1)).map((result) => result.projectEvents.type)).toEqual(['INGEST_JOB_UPDATED']);

    // A resume replays from its own cursor, then joins the audience of the same operation.
    const cursor = streams[0]!.results[0]!.projectEvents.cursor;
    const resumed = track(subscribeOverWebSocket<ProjectEvent>(wsClient(app, wide), PROJECT_STREAM, { projectId: 'shared', after: cursor }));
    expect((await resumed.waitForResults(1)).map((result) => result.projectEvents.type)).toEqual(['INGEST_JOB_UPDATED']);
    await waitFor(() => app.subscriberCount() === 5, { what: 'the resumed subscriber to join' });
    expect(app.audienceCount()).toBe(2);
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.6 }, admin);
    expect((await resumed.waitForResults(2)).map((result) => result.projectEvents.job?.progress)).toEqual([0.5, 0.6]);
    // The last member leaving ends its audience and releases the feed.
    for (const stream of [...streams, typed, resumed]) stream.dispose();
    await waitFor(() => app.audienceCount() === 0 && app.feeds.subscriberCount() === 0, { what: 'audiences to end' });
  });

  it('refuses a caller who cannot read the project, and never hands it an event, over WebSocket and SSE', async () => {
    const app = await secured();
    const admin = auth(await signToken());
    const reader = await signToken({ sub: 'reader', projects: ['guarded'] });
    const outsider = await signToken({ sub: 'outsider', projects: ['elsewhere'] });
    const noScope = await signToken({ sub: 'no-scope', projects: ['guarded'], scope: 'events:write' });
    const member = track(subscribeOverWebSocket<ProjectEvent>(wsClient(app, reader), PROJECT_STREAM, { projectId: 'guarded' }));
    await waitFor(() => app.subscriberCount() === 1, { what: 'the reader' });
    const refusals = [
      track(subscribeOverWebSocket(wsClient(app, outsider), PROJECT_STREAM, { projectId: 'guarded' })),
      track(subscribeOverSse(app.url, PROJECT_STREAM, { projectId: 'guarded' }, auth(outsider))),
      track(subscribeOverWebSocket(wsClient(app, noScope), PROJECT_STREAM, { projectId: 'guarded' })),
      track(subscribeOverSse(app.url, PROJECT_STREAM, { projectId: 'guarded', after: null }, auth(noScope))),
    ];
    const messages = [];
    for (const refused of refusals) {
      const errors = (await refused.waitForError()) as Array<{ message: string; extensions: { code: string } }>;
      expect(errors[0]!.extensions.code).toBe('FORBIDDEN');
      messages.push(errors[0]!.message);
    }
    expect(messages).toEqual([
      'this token does not give access to project "guarded"',
      'this token does not give access to project "guarded"',
      'this token lacks the events:read scope',
      'this token lacks the events:read scope',
    ]);
    await mutate(app.url, CREATE_JOB, { projectId: 'guarded', source: 'marker' }, admin);
    expect((await member.waitForResults(1)).map((result) => result.projectEvents.type)).toEqual(['INGEST_JOB_CREATED']);
    for (const refused of refusals) expect(refused.results).toEqual([]);
    expect(app.audienceCount()).toBe(1);
  });

  it('ends only the member whose token expired; the others in its audience keep receiving', async () => {
    const app = await secured();
    const admin = auth(await signToken());
    const lasting = await signToken({ sub: 'lasting', projects: ['p'] });
    const shortLived = await signToken({ sub: 'short', projects: ['p', 'q'], expiresIn: 2 });
    const stays = track(subscribeOverWebSocket<ProjectEvent>(wsClient(app, lasting), PROJECT_STREAM, { projectId: 'p' }));
    const staysSse = track(subscribeOverSse<ProjectEvent>(app.url, PROJECT_STREAM, { projectId: 'p' }, auth(lasting)));
    const raw = rawSocket(app);
    await raw.acknowledged(shortLived);
    raw.send({ id: 'short', type: 'subscribe', payload: { query: PROJECT_STREAM, variables: { projectId: 'p' } } });
    const expiringSse = track(subscribeOverSse<ProjectEvent>(app.url, PROJECT_STREAM, { projectId: 'p' }, auth(shortLived)));
    await waitFor(() => app.subscriberCount() === 4, { what: 'four members' });
    expect(app.audienceCount()).toBe(1);
    expect(await raw.closed).toEqual({ code: 4403, reason: 'Token expired' });
    await waitFor(() => expiringSse.completed, { what: 'the expired SSE stream to end' });
    await waitFor(() => app.subscriberCount() === 2, { what: 'the expired members to leave' });
    await mutate(app.url, CREATE_JOB, { projectId: 'p', source: 'after expiry' }, admin);
    expect((await stays.waitForResults(1))[0]!.projectEvents.type).toBe('INGEST_JOB_CREATED');
    expect((await staysSse.waitForResults(1))[0]!.projectEvents.type).toBe('INGEST_JOB_CREATED');
    expect(stays.completed || staysSse.completed).toBe(false);
  });
});
