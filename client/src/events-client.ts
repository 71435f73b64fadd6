import type { Exchange } from 'urql';
import { Client, fetchExchange } from 'urql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import type { StatusStore } from './connection-status.js';
import { createStatusStore } from './connection-status.js';
import type { SubscribingClient } from './resumable-subscription.js';
import { resumableExchange } from './resumable-exchange.js';

export interface EventsClientOptions {
  /** The GraphQL endpoint, `http(s)://host/graphql`; the WebSocket URL is derived from it. */
  url: string;
  /**
   * A token, or a function that returns the current one. A function is called for every
   * request and every (re)connection, so a refreshed token is picked up on reconnect.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** How subscriptions travel. @default 'ws' */
  transport?: 'ws' | 'sse';
  /** First reconnect delay; doubles per attempt up to `maxRetryDelayMs`, with jitter. @default 500 */
  retryDelayMs?: number;
  /** @default 10000 */
  maxRetryDelayMs?: number;
  /** A WebSocket implementation where there is no global one (Node before 22: `ws`). */
  webSocketImpl?: unknown;
  /** A fetch implementation where the global one will not do. */
  fetch?: typeof fetch;
}

export interface EventsClient {
  /** An urql client: queries and mutations over HTTP, subscriptions that resume on reconnect. */
  client: Client;
  /** The subscription connection's state, for a connection indicator. */
  status: StatusStore;
  /** Closes the subscription connection. */
  dispose(): void;
}

/** Delay before reconnect attempt `retries` (0-based): exponential, with full jitter on top of half. */
export function backoffDelay(retries: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** retries);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * The client everything in `client/` is built on.
 *
 * @remarks
 * Subscriptions keep the cursor of the last event they delivered; when the connection drops
 * and comes back (network loss, server restart, deploy), they resubscribe after it and the
 * server replays what was missed, so a stream neither loses nor repeats an event. A token
 * function is asked again on every reconnect.
 */
export function createEventsClient(options: EventsClientOptions): EventsClient {
  const { url, transport = 'ws', retryDelayMs = 500, maxRetryDelayMs = 10_000 } = options;
  const status = createStatusStore();
  const currentToken = async () => (typeof options.token === 'function' ? await options.token() : options.token);
  const authorization = async (): Promise<Record<string, string>> => {
    const token = await currentToken();
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  const retryWait = (retries: number) =>
    new Promise<void>((resolve) => setTimeout(resolve, backoffDelay(retries, retryDelayMs, maxRetryDelayMs)));

  // One status for the whole client, so every hook and `useConnectionStatus()` say the same:
  // `connecting` until something answers, `live` while the subscription connection is up,
  // `reconnecting` while the server does not answer (a request or a connection attempt
  // failed, or the connection dropped) and the client tries again.
  let socketLive = false;
  let socketRetrying = false;
  let requestsUnreachable = false;
  const update = () => status.set(socketLive ? 'live' : socketRetrying || requestsUnreachable ? 'reconnecting' : 'connecting');
  const socket = {
    connecting: (isRetry: boolean) => {
      socketRetrying = isRetry;
      update();
    },
    connected: () => {
      socketLive = true;
      socketRetrying = false;
      requestsUnreachable = false;
      update();
    },
    closed: () => {
      // A retry follows every close but the one `dispose` makes, and the status no longer matters then.
      socketLive = false;
      socketRetrying = true;
      update();
    },
  };

  let subscriber: SubscribingClient & { dispose(): void | Promise<void> };
  if (transport === 'ws') {
    subscriber = createWsClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: options.webSocketImpl,
      connectionParams: authorization,
      lazy: true,
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      retryWait,
      on: socket,
    });
  } else {
    subscriber = createSseClient({
      url,
      headers: authorization,
      singleConnection: false,
      retryAttempts: Number.POSITIVE_INFINITY,
      retry: retryWait,
      fetchFn: options.fetch,
      on: { connecting: socket.connecting, connected: socket.connected },
    });
  }

  const baseFetch = options.fetch ?? fetch;
  const exchanges: Exchange[] = [fetchExchange, resumableExchange(subscriber)];
  const client = new Client({
    url,
    exchanges,
    preferGetMethod: false,
    fetch: async (input, init) => {
      let response: Response;
      try {
        response = await baseFetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...(await authorization()) } });
      } catch (error) {
        if (!init?.signal?.aborted) {
          requestsUnreachable = true;
          update();
        }
        throw error;
      }
      if (requestsUnreachable) {
        requestsUnreachable = false;
        update();
      }
      return response;
    },
  });
  return {
    client,
    status,
    dispose: () => void subscriber.dispose(),
  };
}
