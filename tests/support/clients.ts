import type { Client, ExecutionResult } from 'graphql-ws';
import { createClient as createWsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';
import { waitFor } from './wait-for.js';

export interface GraphQLResponse<T = Record<string, any>> {
  /** The HTTP status the response came with. */
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** A query or mutation over HTTP POST. */
export async function request<T = Record<string, any>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, 'status'>) };
}

/** A mutation that must succeed; returns its data. */
export async function mutate<T = Record<string, any>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
): Promise<T> {
  const result = await request<T>(url, query, variables, headers);
  if (result.errors?.length || !result.data) throw new Error(`mutation failed: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** A running subscription that records what arrives, for tests to wait on. */
export interface RecordedSubscription<T> {
  readonly results: T[];
  readonly errors: unknown[];
  readonly completed: boolean;
  waitForResults(count: number, timeoutMs?: number): Promise<T[]>;
  waitForError(timeoutMs?: number): Promise<unknown>;
  dispose(): void;
}

type Sink = Parameters<Client['subscribe']>[1];

function record<T>(start: (sink: Sink) => () => void): RecordedSubscription<T> {
  const results: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const dispose = start({
    next: (result: ExecutionResult) => {
      if (result.errors?.length) errors.push(result.errors);
      else results.push(result.data as T);
    },
    error: (error: unknown) => errors.push(error),
    complete: () => {
      completed = true;
    },
  });
  return {
    results,
    errors,
    get completed() {
      return completed;
    },
    async waitForResults(count, timeoutMs = 5000) {
      await waitFor(() => results.length >= count || errors.length > 0, { timeoutMs, what: `${count} results` });
      if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      return results;
    },
    async waitForError(timeoutMs = 5000) {
      await waitFor(() => errors.length > 0, { timeoutMs, what: 'an error' });
      return errors[0];
    },
    dispose,
  };
}

export function webSocketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

/** A real graphql-ws client; `lazy: false` so the socket is open before the first subscribe. */
export function connectWebSocket(httpUrl: string, options: Partial<Parameters<typeof createWsClient>[0]> = {}): Client {
  return createWsClient({ url: webSocketUrl(httpUrl), webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, ...options });
}

export function subscribeOverWebSocket<T = Record<string, any>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): RecordedSubscription<T> {
  return record<T>((sink) => client.subscribe({ query, variables }, sink));
}

/** A real GraphQL-over-SSE client in distinct-connections mode, the mode yoga serves. */
export function subscribeOverSse<T = Record<string, any>>(
  httpUrl: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): RecordedSubscription<T> {
  const client = createSseClient({ url: httpUrl, singleConnection: false, retryAttempts: 0, headers });
  return record<T>((sink) => {
    const unsubscribe = client.subscribe({ query, variables }, sink);
    return () => {
      unsubscribe();
      client.dispose();
    };
  });
}

/** A response body read as text while it arrives, for checking the bytes of a stream. */
export function readBodyText(response: Response): { readonly text: string; readonly ended: boolean } {
  let text = '';
  let ended = false;
  void (async () => {
    const decoder = new TextDecoder();
    const reader = response.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // aborted by the test, or the server cut the connection
    }
    ended = true;
  })();
  return {
    get text() {
      return text;
    },
    get ended() {
      return ended;
    },
  };
}
