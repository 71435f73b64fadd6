import WebSocket from 'ws';
import { waitFor } from './wait-for.js';
import { readBodyText } from './clients.js';

/** A message of a plain stream, as its JSON says. */
export type PlainMessage = { type: string; cursor: string; projectId: string; occurredAt: string; [field: string]: unknown };

/** One SSE event as a browser's EventSource would dispatch it. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** The URL of a plain stream on the server whose GraphQL endpoint is `graphqlUrl`. */
export function plainStreamUrl(graphqlUrl: string, path: string, protocol: 'http' | 'ws' = 'http'): string {
  const url = new URL(path, graphqlUrl);
  if (protocol === 'ws') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * Splits SSE text into events the way the EventSource parser does (fields `id`, `event`,
 * `data`, comments ignored, an event dispatched on a blank line); `retry` and comment lines
 * are kept apart for the tests that check them.
 */
export function parseSse(text: string): { events: SseEvent[]; comments: number; retry?: number } {
  const events: SseEvent[] = [];
  let comments = 0;
  let retry: number | undefined;
  for (const block of text.split('\n\n').slice(0, -1)) {
    let event: Partial<SseEvent> & { data?: string } = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        comments++;
        continue;
      }
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
      else if (name === 'id') event.id = value;
      else if (name === 'event') event.event = value;
      else if (name === 'retry') retry = Number(value);
    }
    if (event.data !== undefined) events.push({ id: event.id, event: event.event ?? 'message', data: event.data });
    event = {};
  }
  return { events, comments, retry };
}

/** A plain SSE stream read with fetch, as text and as events. */
export interface PlainSseStream {
  readonly status: number;
  readonly headers: Headers;
  /** The body so far; for a refusal, the whole JSON body. */
  readonly text: string;
  readonly ended: boolean;
  /** The whole body as JSON, once it ended: a refusal's `{ code, message }`. */
  json(): Promise<{ code: string; message: string }>;
  events(): SseEvent[];
  messages(): PlainMessage[];
  waitForMessages(count: number, timeoutMs?: number): Promise<PlainMessage[]>;
  waitForEnd(timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function openPlainSse(url: string, headers: Record<string, string> = {}): Promise<PlainSseStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const body = readBodyText(response);
  const stream: PlainSseStream = {
    status: response.status,
    headers: response.headers,
    get text() {
      return body.text;
    },
    get ended() {
      return body.ended;
    },
    async json() {
      await stream.waitForEnd();
      return JSON.parse(body.text) as { code: string; message: string };
    },
    events: () => parseSse(body.text).events,
    messages: () =>
      parseSse(body.text)
        .events.filter((event) => event.event !== 'error')
        .map((event) => JSON.parse(event.data) as PlainMessage),
    async waitForMessages(count, timeoutMs = 5000) {
      await waitFor(() => stream.messages().length >= count, { timeoutMs, what: `${count} SSE messages (have: ${body.text.slice(-300)})` });
      return stream.messages();
    },
    async waitForEnd(timeoutMs = 5000) {
      await waitFor(() => body.ended, { timeoutMs, what: 'the SSE stream to end' });
    },
    close: () => controller.abort(),
  };
  return stream;
}

/** A plain WebSocket stream, recording what arrives and how it closed or was refused. */
export interface PlainWebSocketStream {
  socket: WebSocket;
  readonly messages: PlainMessage[];
  /** Resolves once open; rejects with the HTTP status and body of a refused upgrade. */
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  refused: Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: { code: string; message: string } }>;
  waitForMessages(count: number, timeoutMs?: number): Promise<PlainMessage[]>;
}

export function openPlainWebSocket(url: string, options: WebSocket.ClientOptions = {}): PlainWebSocketStream {
  const socket = new WebSocket(url, options);
  const messages: PlainMessage[] = [];
  socket.on('message', (data, isBinary) => {
    if (isBinary) throw new Error('plain streams send text frames');
    messages.push(JSON.parse(String(data)) as PlainMessage);
  });
  socket.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const refused = new Promise<Awaited<PlainWebSocketStream['refused']>>((resolve) => {
    socket.once('unexpected-response', (_, response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode!, headers: response.headers, body: JSON.parse(body) });
        // With a listener for the refusal, ending the request is ws' caller's to do.
        _.destroy();
      });
    });
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_, response) => reject(new Error(`upgrade refused with ${response.statusCode}`)));
  });
  opened.catch(() => {});
  return {
    socket,
    messages,
    opened,
    closed,
    refused,
    async waitForMessages(count, timeoutMs = 5000) {
      await waitFor(() => messages.length >= count, { timeoutMs, what: `${count} WebSocket messages (have ${messages.length})` });
      return messages;
    },
  };
}
