import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buildSchema } from 'graphql';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveSockets } from '../src/transport/graphql-ws/serve-sockets.js';
import { waitFor } from './support/wait-for.js';

const schema = buildSchema(`type Query { hello: String! }  type Mutation { fail: String! }  type Subscription { chunks: String! }`);
const rootValue = {
  hello: () => 'world',
  fail: () => 'never',
};
const CHUNK = 'x'.repeat(64 * 1024);
const CHUNKS = 200;

/** What went to the kernel, one entry per write the socket made (a writev of several chunks is one). */
function recordWrites(socket: Socket): string[][] {
  const writes: string[][] = [];
  const target = socket as unknown as {
    _write(chunk: Buffer, encoding: string, callback: () => void): void;
    _writev(chunks: { chunk: Buffer }[], callback: () => void): void;
  };
  const write = target._write.bind(socket);
  const writev = target._writev.bind(socket);
  target._write = (chunk, encoding, callback) => {
    writes.push([String(chunk)]);
    write(chunk, encoding, callback);
  };
  target._writev = (chunks, callback) => {
    writes.push(chunks.map(({ chunk }) => String(chunk)));
    writev(chunks, callback);
  };
  return writes;
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** An HTTP server on port 0 serving graphql-transport-ws through `serveSockets`; records each socket's writes. */
async function serve(options: Parameters<typeof serveSockets>[0], keepAliveMs?: number) {
  const webSocketServer = new WebSocketServer({ noServer: true });
  const serving = serveSockets(options, webSocketServer, pino({ level: 'silent' }), keepAliveMs);
  const writes: string[][][] = [];
  const httpServer = createServer();
  httpServer.on('upgrade', (request, socket, head) => {
    writes.push(recordWrites(socket as Socket));
    webSocketServer.handleUpgrade(request, socket, head, (client) => {
      serving.adopt(client, socket);
      webSocketServer.emit('connection', client, request);
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => httpServer.close(() => resolve())));
  closers.push(() => new Promise<void>((resolve) => webSocketServer.close(() => resolve())));
  closers.push(() => serving.dispose());
  const url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  return { url, writes, webSocketServer };
}

function connect(url: string): Client {
  const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => undefined });
  closers.push(() => client.dispose());
  return client;
}

function run(client: Client, query: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let data: unknown;
    client.subscribe({ query }, { next: (result) => (data = result.data), error: reject, complete: () => resolve(data) });
  });
}

describe('graphql-transport-ws over serveSockets', () => {
  it("sends an operation's next and complete in one write", async () => {
    const { url, writes } = await serve({ schema, roots: { query: rootValue, mutation: rootValue } });
    const client = connect(url);
    for (let round = 0; round < 3; round++) expect(await run(client, '{ hello }')).toEqual({ hello: 'world' });

    const answers = writes[0]!.filter((write) => write.some((chunk) => chunk.includes('"type":"next"')));
    expect(answers).toHaveLength(3);
    for (const write of answers) expect(write.join('')).toContain('"type":"complete"');
  });

  it('waits for a reader that stopped reading once its socket holds 16 KiB unsent, and loses nothing', async () => {
    const { url, webSocketServer } = await serve({
      schema,
      roots: {
        query: rootValue,
        subscription: {
          async *chunks() {
            for (let index = 0; index < CHUNKS; index++) {
              // Pulled only once the last send resolved: at once below 16 KiB unsent, else once the socket took it.
              const [socket] = webSocketServer.clients;
              unsentAtPull.push(socket!.bufferedAmount);
              yield { chunks: CHUNK };
            }
          },
        },
      },
    });
    const unsentAtPull: number[] = [];
    // The client's TCP connection, to stop reading from it.
    const connections: Socket[] = [];
    class RecordedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.once('upgrade', (response) => connections.push(response.socket as Socket));
      }
    }
    const client = createClient({ url, webSocketImpl: RecordedWebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => undefined });
    closers.push(() => client.dispose());
    await new Promise((resolve) => client.on('connected', resolve));
    connections[0]!.pause();

    let received = 0;
    const done = new Promise<void>((resolve, reject) =>
      client.subscribe({ query: 'subscription { chunks }' }, { next: () => void received++, error: reject, complete: resolve }),
    );
    const [socket] = webSocketServer.clients;
    await waitFor(() => socket!.bufferedAmount >= 16 * 1024, { what: 'the socket to hold 16 KiB unsent' });
    connections[0]!.resume();
    await done;

    expect(received).toBe(CHUNKS);
    // A send that resolved at once left at most one chunk over the line: nothing ran ahead of the reader.
    expect(Math.max(...unsentAtPull)).toBeLessThan(16 * 1024 + CHUNK.length + 1024);
    expect(unsentAtPull.length).toBe(CHUNKS);
  });

  it('closes a socket whose operation made a hook throw with 1011, and keeps serving the others', async () => {
    const { url, webSocketServer } = await serve({
      schema,
      roots: { query: rootValue, mutation: rootValue },
      onSubscribe: (_context, _id, payload) => {
        if (payload.query.includes('fail')) throw new Error('a hook failed');
      },
    });
    const failing = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => undefined });
    closers.push(() => failing.dispose());
    const closed = new Promise<number>((resolve) => failing.on('closed', (event) => resolve((event as { code: number }).code)));
    const other = connect(url);
    expect(await run(other, '{ hello }')).toEqual({ hello: 'world' });

    run(failing, 'mutation { fail }').catch(() => undefined);
    expect(await closed).toBe(1011);
    expect(await run(other, '{ hello }')).toEqual({ hello: 'world' });
    await waitFor(() => webSocketServer.clients.size === 1, { what: 'the failed socket to be gone' });
  });

  it('pings every keep-alive interval, keeps a socket that answers and cuts one that does not', async () => {
    const { url, webSocketServer } = await serve({ schema, roots: { query: rootValue } }, 40);
    const protocol = 'graphql-transport-ws';
    const open = (autoPong: boolean) => {
      const socket = new WebSocket(url, protocol, { autoPong });
      closers.push(() => socket.terminate());
      return socket;
    };
    const answering = open(true);
    const silent = open(false);
    let pings = 0;
    answering.on('ping', () => pings++);
    const silentClosed = new Promise<number>((resolve) => silent.once('close', resolve));
    await Promise.all([once(answering, 'open'), once(silent, 'open')]);

    // The silent socket gets its ping, does not answer, and is terminated (1006: no close frame).
    expect(await silentClosed).toBe(1006);
    await waitFor(() => pings >= 3, { what: 'three pings to the answering socket' });
    expect(answering.readyState).toBe(WebSocket.OPEN);
    expect(webSocketServer.clients.size).toBe(1);
  });

  it('closes every socket with 1001 on dispose', async () => {
    const webSocketServer = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => webSocketServer.once('listening', resolve));
    const serving = serveSockets({ schema, roots: { query: rootValue } }, webSocketServer, pino({ level: 'silent' }));
    closers.push(() => new Promise<void>((resolve) => webSocketServer.close(() => resolve())));
    const client = connect(`ws://127.0.0.1:${(webSocketServer.address() as AddressInfo).port}`);
    const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
    expect(await run(client, '{ hello }')).toEqual({ hello: 'world' });

    await serving.dispose();
    expect(await closed).toBe(1001);
  });
});
