import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { connectWebSocket, mutate, request, webSocketUrl } from './support/clients.js';
import { COMPLETE_JOB, CREATE_JOB, JOBS, PROJECT_STREAM, START_MESSAGE, START_RUN, UPDATE_PROGRESS } from './support/operations.js';
import { startPrivateRedis } from './support/processes.js';
import { createAppPool, testConfig } from './support/servers.js';
import { createTeardown } from './support/teardown.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';

/**
 * The README's error table, walked: each code a client can see, provoked over HTTP and over
 * WebSocket (graphql-ws), with the code read from `extensions.code` and nothing else.
 */

const pool = createAppPool();
const teardown = createTeardown();
let open: App;
let secured: App;
const ALLOWED = 'https://app.example.com';

beforeAll(async () => {
  open = await pool.start(testConfig('memory', 'error-codes:', { allowedOrigins: [ALLOWED] }));
  secured = await pool.start(
    testConfig('memory', 'error-codes-secured:', {
      auth: { kind: 'secret', secret: TEST_SECRET },
      limits: { ...testConfig('memory', '').limits, mutationsPerSecond: 1 },
    }),
  );
});

afterAll(async () => {
  await pool.stopAll();
});

interface Answer {
  code: unknown;
  message: string;
  /** The HTTP status; absent over WebSocket. */
  status?: number;
}

/** Sends one operation and returns the first error's code and message, whatever stage refused it. */
type Transport = (app: App, query: string, variables?: Record<string, unknown>, token?: string, idempotencyKey?: string) => Promise<Answer>;

const overHttp: Transport = async (app, query, variables, token, idempotencyKey) => {
  const headers: Record<string, string> = { ...(token ? { authorization: bearer(token) } : {}), ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) };
  const result = await request(app.url, query, variables, headers);
  const [error] = result.errors ?? [];
  return { code: error?.extensions?.code, message: error?.message ?? '', status: result.status };
};

const sockets = new Map<string, Client>();
function socketFor(app: App, token?: string): Client {
  const key = `${app.url} ${token ?? ''}`;
  let client = sockets.get(key);
  if (!client) {
    client = connectWebSocket(app.url, { connectionParams: token ? { authorization: bearer(token) } : {}, onNonLazyError: () => {} });
    sockets.set(key, client);
    teardown.push(() => {
      sockets.delete(key);
      return client!.dispose();
    });
  }
  return client;
}

const overWebSocket: Transport = (app, query, variables, token, idempotencyKey) =>
  new Promise((resolve, reject) => {
    const dispose = socketFor(app, token).subscribe(
      { query, variables, ...(idempotencyKey ? { extensions: { idempotencyKey } } : {}) },
      {
        // Execution errors arrive as a result; request errors (parse, validation, variables, a
        // refused subscription) as graphql-ws's `error` message.
        next: (result) => {
          if (!result.errors?.length) return;
          dispose();
          resolve({ code: result.errors[0]!.extensions?.code, message: result.errors[0]!.message });
        },
        error: (errors) => {
          if (!Array.isArray(errors)) return reject(errors instanceof Error ? errors : new Error(`closed: ${JSON.stringify(errors)}`));
          const [error] = errors as Array<{ message: string; extensions?: Record<string, unknown> }>;
          resolve({ code: error?.extensions?.code, message: error?.message ?? '' });
        },
        complete: () => reject(new Error(`"${query}" completed without an error`)),
      },
    );
  });

const EVENTS = `query ($projectId: ID!, $after: String, $types: [EventType!]) { events(projectId: $projectId, after: $after, types: $types) { cursor } }`;
const SNAPSHOT = `query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor } }`;

describe.each([
  ['HTTP', overHttp],
  ['WebSocket', overWebSocket],
] as const)('over %s', (_name, send) => {
  it('GRAPHQL_PARSE_FAILED: a document that does not parse', async () => {
    expect(await send(open, '{ projectSnapshot(')).toMatchObject({ code: 'GRAPHQL_PARSE_FAILED' });
  });

  it('GRAPHQL_VALIDATION_FAILED: a field the schema does not have, or an inline argument of the wrong type', async () => {
    expect(await send(open, '{ projectSnapshot(projectId: "p") { nope } }')).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(await send(open, '{ events(projectId: "p", types: [nope]) { cursor } }')).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('BAD_USER_INPUT: a variable that does not coerce to its type, or a required one missing', async () => {
    for (const variables of [{ projectId: { a: 1 } }, { projectId: 'p', types: ['ingest.job.created'] }, {}]) {
      expect(await send(open, EVENTS, variables), JSON.stringify(variables)).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
  });

  it('BAD_USER_INPUT: a blank, whitespace-containing or over-long id, on queries, mutations and subscriptions alike', async () => {
    for (const id of ['', ' ', 'a b', 'x'.repeat(5000)]) {
      for (const [query, variables] of [
        [COMPLETE_JOB, { id }],
        [JOBS, { projectId: id }],
        ['query ($id: ID!) { ingestJob(id: $id) { id } }', { id }],
        [PROJECT_STREAM, { projectId: id }],
        [CREATE_JOB, { projectId: id, source: 's' }],
      ] as const) {
        const answer = await send(open, query, variables);
        expect(answer, `${query} with an id of ${id.length} characters`).toMatchObject({ code: 'BAD_USER_INPUT' });
        // A refused id is named, not echoed back whole.
        expect(answer.message.length).toBeLessThan(200);
      }
    }
  });

  it('NOT_FOUND: a mutation names a job that does not exist', async () => {
    expect(await send(open, COMPLETE_JOB, { id: 'no-such-job' })).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('INVALID_TRANSITION: progress on a completed job', async () => {
    const job = (await mutate(open.url, CREATE_JOB, { projectId: 'transitions', source: 's' })).createIngestJob;
    await mutate(open.url, COMPLETE_JOB, { id: job.id });
    expect(await send(open, UPDATE_PROGRESS, { id: job.id, progress: 0.5 })).toMatchObject({ code: 'INVALID_TRANSITION' });
  });

  it('CURSOR_EXPIRED: a cursor of another project, in history and on a stream', async () => {
    await mutate(open.url, CREATE_JOB, { projectId: 'cursor-owner', source: 's' });
    const cursor = (await mutate(open.url, SNAPSHOT, { projectId: 'cursor-owner' })).projectSnapshot.cursor as string;
    expect(await send(open, EVENTS, { projectId: 'someone-else', after: cursor })).toMatchObject({ code: 'CURSOR_EXPIRED' });
    expect(await send(open, PROJECT_STREAM, { projectId: 'someone-else', after: cursor })).toMatchObject({ code: 'CURSOR_EXPIRED' });
  });

  it('FORBIDDEN: a project the token may not read, or a write without the write scope', async () => {
    const token = await signToken({ projects: ['mine'], scope: 'events:read' });
    expect(await send(secured, JOBS, { projectId: 'theirs' }, token)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await send(secured, PROJECT_STREAM, { projectId: 'theirs' }, token)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await send(secured, CREATE_JOB, { projectId: 'mine', source: 's' }, token)).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('RATE_LIMITED: more mutations than MUTATIONS_PER_SECOND (bursts of twice that) from one token', async () => {
    const token = await signToken({ sub: `burst-${_name}` });
    const codes: unknown[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      codes.push((await send(secured, COMPLETE_JOB, { id: 'no-such-job' }, token)).code);
    }
    expect(codes).toContain('RATE_LIMITED');
  });

  it('IDEMPOTENCY_KEY_REUSED: an idempotency key sent again with other variables', async () => {
    const key = `reused-${_name}`;
    await mutate(open.url, CREATE_JOB, { projectId: 'keys', source: 'first' }, { 'idempotency-key': key });
    expect(await send(open, CREATE_JOB, { projectId: 'keys', source: 'other' }, undefined, key)).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('OFFSET_MISMATCH: streamed text at an offset other than the length of what is stored', async () => {
    const run = (await mutate(open.url, START_RUN, { projectId: 'offsets', agent: 'a' })).startAgentRun;
    const message = (await mutate(open.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
    const append = `mutation ($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {
      appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) { id }
    }`;
    expect(await send(open, append, { runId: run.id, messageId: message.id, text: 'abc', offset: 2 })).toMatchObject({ code: 'OFFSET_MISMATCH' });
  });

  it('SERVICE_UNAVAILABLE: Redis does not answer, so the change is not confirmed', async () => {
    const redis = await startPrivateRedis();
    teardown.push(() => redis.dispose());
    const app = await pool.start({ ...testConfig('redis', 'error-codes-redis:'), redisUrl: redis.url });
    const job = (await mutate(app.url, CREATE_JOB, { projectId: 'redis-down', source: 's' })).createIngestJob;
    await redis.kill();
    expect(await send(app, UPDATE_PROGRESS, { id: job.id, progress: 0.5 })).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });
});

describe('over HTTP only, and what WebSocket does instead', () => {
  const post = (body: BodyInit, headers: Record<string, string>) => fetch(open.url, { method: 'POST', headers, body });

  it('BAD_REQUEST: a body that is not JSON says so once, without echoing it; over WebSocket the socket closes with 4400', async () => {
    const response = await post('not json', { 'content-type': 'application/json' });
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
    expect(response.status).toBe(400);
    expect(body.errors).toEqual([{ message: "POST body is not valid JSON: Unexpected token 'o'", extensions: { code: 'BAD_REQUEST' } }]);

    const socket = new WebSocket(webSocketUrl(open.url), 'graphql-transport-ws');
    teardown.push(() => socket.terminate());
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send('not json');
    const [code] = await new Promise<[number, string]>((resolve) => socket.once('close', (...args) => resolve([args[0], String(args[1])])));
    expect(code).toBe(4400);
  });

  it('BAD_REQUEST: a Content-Type no parser reads (415), or a request that is not a GraphQL one', async () => {
    const unreadable = await post('{ __typename }', { 'content-type': 'text/plain' });
    expect([unreadable.status, ((await unreadable.json()) as { errors: [{ extensions: { code: string } }] }).errors[0].extensions.code]).toEqual([
      415,
      'BAD_REQUEST',
    ]);
    const notGraphQL = await post(JSON.stringify({ foo: 1 }), { 'content-type': 'application/json' });
    expect([notGraphQL.status, ((await notGraphQL.json()) as { errors: [{ extensions: { code: string } }] }).errors[0].extensions.code]).toEqual([
      400,
      'BAD_REQUEST',
    ]);
  });

  it('REQUEST_ENTITY_TOO_LARGE: a body over the limit (413); over WebSocket a frame over WS_MAX_PAYLOAD_BYTES closes with 1009', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: '{ __typename }' }));
    form.set('map', '{}');
    form.set('0', new Blob(['x'.repeat(30_000_000)]), 'big.txt');
    const tooLarge = await fetch(open.url, { method: 'POST', body: form });
    expect([tooLarge.status, ((await tooLarge.json()) as { errors: [{ extensions: { code: string } }] }).errors[0].extensions.code]).toEqual([
      413,
      'REQUEST_ENTITY_TOO_LARGE',
    ]);

    const socket = new WebSocket(webSocketUrl(open.url), 'graphql-transport-ws');
    teardown.push(() => socket.terminate());
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send('x'.repeat(testConfig('memory', '').limits.maxPayloadBytes + 1));
    const code = await new Promise<number>((resolve) => socket.once('close', resolve));
    expect(code).toBe(1009);
  });

  it('UNAUTHENTICATED: no valid token is 401; over WebSocket connection_init without one closes with 4403', async () => {
    expect(await overHttp(secured, JOBS, { projectId: 'p' })).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    const client = connectWebSocket(secured.url, { connectionParams: {}, onNonLazyError: () => {} });
    teardown.push(() => client.dispose());
    const closed = await new Promise<{ code: number }>((resolve) => client.on('closed', (event) => resolve(event as { code: number })));
    expect(closed.code).toBe(4403);
  });

  it('FORBIDDEN: a page on an origin outside ALLOWED_ORIGINS is refused on /graphql; its WebSocket upgrade with 403', async () => {
    const refused = await fetch(open.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example.com' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect([refused.status, ((await refused.json()) as { errors: [{ extensions: { code: string } }] }).errors[0].extensions.code]).toEqual([
      403,
      'FORBIDDEN',
    ]);
    const socket = new WebSocket(webSocketUrl(open.url), 'graphql-transport-ws', { origin: 'https://evil.example.com' });
    // Refused before it opened: the socket reports that as an error, which is the point here.
    socket.on('error', () => {});
    const status = await new Promise<number | undefined>((resolve) => {
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode));
      socket.once('open', () => resolve(undefined));
    });
    socket.terminate();
    expect(status).toBe(403);
  });
});
