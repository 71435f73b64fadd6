import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { webSocketUrl } from './support/clients.js';
import { createAppPool, testConfig } from './support/servers.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { createTeardown } from './support/teardown.js';

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
