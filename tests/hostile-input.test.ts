import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { connectWebSocket, mutate, request, subscribeOverSse, subscribeOverWebSocket, webSocketUrl } from './support/clients.js';
import { CREATE_JOB, UPDATE_PROGRESS } from './support/operations.js';
import { startPrivateRedis } from './support/processes.js';
import { redisForTests } from './support/redis.js';
import { createAppPool, testConfig } from './support/servers.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { createTeardown } from './support/teardown.js';

const { prefix } = redisForTests('hostile');
const pool = createAppPool();
afterEach(() => pool.stopAll());
const teardown = createTeardown();

/** Everything written to stderr or through console while the test runs: none of it is the logger's. */
let stderr: string[];
beforeEach(() => {
  stderr = [];
  const capture = (...args: unknown[]) => void stderr.push(args.map(String).join(' '));
  const spies = [
    vi.spyOn(console, 'error').mockImplementation(capture),
    vi.spyOn(console, 'warn').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      capture(String(chunk));
      return true;
    }),
  ];
  return () => spies.forEach((spy) => spy.mockRestore());
});

function secured(): Promise<App> {
  return pool.start(testConfig('memory', 'unused:', { auth: { kind: 'secret', secret: TEST_SECRET } }));
}

/** Opens a graphql-transport-ws socket, sends `init` as its first frame, and resolves with the close code. */
function closeCodeAfter(app: App, init: string): Promise<{ code: number; acked: boolean }> {
  const socket = new WebSocket(webSocketUrl(app.url), 'graphql-transport-ws');
  teardown.push(() => socket.terminate());
  let acked = false;
  socket.on('open', () => socket.send(init));
  socket.on('message', (data) => {
    if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') {
      acked = true;
      socket.close(1000);
    }
  });
  return new Promise((resolve) => socket.on('close', (code) => resolve({ code, acked })));
}

describe('malformed connection parameters', () => {
  it.each([
    ['a number', 42],
    ['an array', ['Bearer x.y.z']],
    ['an object', { token: 'x.y.z' }],
    ['a boolean', true],
  ])('authorization as %s closes the socket with 4403, and nothing reaches stderr', async (_, authorization) => {
    const app = await secured();
    const closed = await closeCodeAfter(app, JSON.stringify({ type: 'connection_init', payload: { authorization } }));
    expect(closed).toEqual({ code: 4403, acked: false });
    expect(stderr).toEqual([]);
  });

  it.each([
    ['a string', '"Bearer x.y.z"'],
    ['a number', '7'],
    ['an array', '["Bearer x.y.z"]'],
  ])('a payload that is %s closes the socket with 4400, and nothing reaches stderr', async (_, payload) => {
    const app = await secured();
    const closed = await closeCodeAfter(app, `{"type":"connection_init","payload":${payload}}`);
    expect(closed).toEqual({ code: 4400, acked: false });
    expect(stderr).toEqual([]);
  });

  it('a valid token is still accepted', async () => {
    const app = await secured();
    const closed = await closeCodeAfter(app, JSON.stringify({ type: 'connection_init', payload: { authorization: bearer(await signToken()) } }));
    expect(closed.acked).toBe(true);
    expect(stderr).toEqual([]);
  });

  it('a frame over the size limit closes with 1009, and nothing reaches stderr', async () => {
    const app = await secured();
    const closed = await closeCodeAfter(app, JSON.stringify({ type: 'connection_init', payload: { authorization: 'x'.repeat(70_000) } }));
    expect(closed.code).toBe(1009);
    expect(stderr).toEqual([]);
  });
});

/** A logger whose lines the test reads, as an operator reads the server's log. */
function capturedLogger() {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, destination), lines };
}

describe('errors', () => {
  it('SERVICE_UNAVAILABLE carries a fixed message, its outcome and a requestId; the raw Redis error is in the log under that id', async () => {
    const privateRedis = await startPrivateRedis();
    teardown.push(() => privateRedis.dispose());
    const { logger, lines } = capturedLogger();
    const app = await pool.start({ ...testConfig('redis', prefix), redisUrl: privateRedis.url }, logger);
    const job = (await mutate<any>(app.url, CREATE_JOB, { projectId: 'unavailable', source: 'x' })).createIngestJob;
    await privateRedis.kill();

    const answers = [await request(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 })];
    const client = connectWebSocket(app.url);
    teardown.push(() => client.dispose());
    const overWs = subscribeOverWebSocket(client, UPDATE_PROGRESS, { id: job.id, progress: 0.5 });
    teardown.push(() => overWs.dispose());
    const overSse = subscribeOverSse(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 });
    teardown.push(() => overSse.dispose());
    answers.push({ status: 0, errors: (await overWs.waitForError()) as never }, { status: 0, errors: (await overSse.waitForError()) as never });

    for (const answer of answers) {
      const [error] = answer.errors!;
      expect([
        'the event store did not answer and nothing was changed; try again shortly',
        'the event store is unreachable and the change was not applied; retry it (with the same Idempotency-Key)',
      ]).toContain(error!.message);
      expect(error!.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', outcome: 'NOT_APPLIED', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      const logged = lines.find((line) => line.requestId === error!.extensions!.requestId);
      expect(logged?.code).toBe('SERVICE_UNAVAILABLE');
      // The detail an operator needs is in the log, not in the answer.
      expect(String(logged?.detail ?? '') + JSON.stringify(logged?.err ?? '')).toMatch(/unreachable|ECONNREFUSED|writeable|closed/i);
    }
    // Back up, so the server stops as usual.
    await privateRedis.start();
  }, 30_000);
});
