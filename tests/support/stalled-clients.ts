import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import { webSocketUrl } from './clients.js';

/**
 * Clients that read the first bytes of a stream and then stop reading, as an attacker's or a
 * frozen client's would: the server's writes back up through TCP until its own buffers hold
 * them. Each records how far it got and whether the server cut it.
 */
export interface StalledClient {
  /** Resolves once the first bytes arrived and the client stopped reading. */
  stalled: Promise<void>;
  /** Resolves when the connection ended, with the WebSocket close code (1006 when cut). */
  ended: Promise<number | undefined>;
  /** The text received before the client stopped reading. */
  readonly received: string;
  dispose(): void;
}

/**
 * A WebSocket that stops reading at the first message `isData` takes as data (the others,
 * a protocol's handshake, it answers through `isData` itself).
 */
function stallAtFirstMessage(socket: WebSocket, isData: (text: string) => boolean = () => true): StalledClient {
  let received = '';
  let markStalled!: () => void;
  const stalled = new Promise<void>((resolve) => (markStalled = resolve));
  socket.on('error', () => {});
  socket.on('message', (data) => {
    const text = String(data);
    if (!isData(text)) return;
    received += text;
    socket.pause();
    markStalled();
  });
  const ended = new Promise<number | undefined>((resolve) => socket.on('close', (code) => resolve(code)));
  return {
    stalled,
    ended,
    get received() {
      return received;
    },
    dispose: () => socket.terminate(),
  };
}

/** A graphql-transport-ws subscription that stops reading after its first message past the ack. */
export function stalledGraphqlWs(
  httpUrl: string,
  payload: { query: string; variables?: Record<string, unknown> },
  connectionParams: Record<string, unknown> = {},
): StalledClient {
  const socket = new WebSocket(webSocketUrl(httpUrl), 'graphql-transport-ws');
  socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
  return stallAtFirstMessage(socket, (text) => {
    if ((JSON.parse(text) as { type: string }).type !== 'connection_ack') return true;
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
    return false;
  });
}

/** A plain stream WebSocket that stops reading after its first message. */
export function stalledPlainWebSocket(url: string, headers: Record<string, string> = {}): StalledClient {
  return stallAtFirstMessage(new WebSocket(url, { headers }));
}

/**
 * An SSE request (GraphQL over SSE when `body` is given, a plain stream otherwise) that stops
 * reading once its first event arrived. `ended` resolves with undefined when the server
 * drops or ends the response.
 */
export function stalledSse(url: string, options: { body?: unknown; headers?: Record<string, string> } = {}): StalledClient {
  let received = '';
  let markStalled!: () => void;
  const stalled = new Promise<void>((resolve) => (markStalled = resolve));
  let markEnded!: (code: undefined) => void;
  const ended = new Promise<number | undefined>((resolve) => (markEnded = resolve));
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const request = httpRequest(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { accept: 'text/event-stream', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
  });
  request.on('error', () => markEnded(undefined));
  request.on('response', (response) => {
    response.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      // Past the stream's opening comment or retry line: the first event has arrived.
      if (/event: |data: \{/.test(received)) {
        response.pause();
        markStalled();
      }
    });
    response.on('error', () => markEnded(undefined));
    response.on('close', () => markEnded(undefined));
  });
  request.end(body);
  return {
    stalled,
    ended,
    get received() {
      return received;
    },
    dispose: () => request.destroy(),
  };
}
