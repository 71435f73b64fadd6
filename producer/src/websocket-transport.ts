import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import { ProducerError } from './errors.js';
import type { GraphQLErrorShape, OperationAnswer, Transport } from './transport.js';

/** How long an idle socket stays open for the next call, in milliseconds. */
const IDLE_CLOSE_MS = 30_000;

/** Close codes of the server's WebSocket transport that are not a lost connection. */
function failureOfClose(code: number, reason: string): ProducerError {
  if (code === 4403 || code === 4401) {
    return new ProducerError('UNAUTHENTICATED', `the server refused the token (${code} ${reason})`, { retryable: false });
  }
  if (code === 4420) {
    return new ProducerError('RATE_LIMITED', `the token holds the most connections allowed (${code} ${reason})`, { retryAfterMs: 1000 });
  }
  return new ProducerError('NETWORK_ERROR', `the connection closed (${code}${reason ? ` ${reason}` : ''}); the outcome is unknown`);
}

/**
 * Every operation over one graphql-ws socket, opened on the first call and again after it
 * closes, and closed after `IDLE_CLOSE_MS` without calls. The idempotency key goes in
 * `extensions.idempotencyKey`. The token is presented in `connection_init`, asked for again on
 * every new connection.
 *
 * @remarks
 * graphql-ws' own retries are off: a lost connection fails the operations on it, and the
 * producer retries them with their keys over a new connection, with its own backoff and
 * deadline, as it does over HTTP. The idle close is ours, not graphql-ws' `lazyCloseTimeout`,
 * whose timer outlives `dispose()` and would keep a process alive after `close()`.
 */
export function createWebSocketTransport(url: string, webSocketImpl: unknown, token: () => Promise<string | undefined>): Transport {
  let current: { client: Client; closed: boolean } | undefined;
  let active = 0;
  let idle: ReturnType<typeof setTimeout> | undefined;

  function connection(): Client {
    if (current && !current.closed) return current.client;
    const entry: { client: Client; closed: boolean } = {
      closed: false,
      client: createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl,
        lazy: false,
        retryAttempts: 0,
        connectionParams: async () => {
          const presented = await token();
          return presented ? { authorization: `Bearer ${presented}` } : {};
        },
        // A connection that fails reaches the operations waiting on it; nothing else to report.
        onNonLazyError: () => {},
        on: {
          closed: () => {
            entry.closed = true;
          },
        },
      }),
    };
    current = entry;
    return entry.client;
  }

  const client = {
    subscribe: (...args: Parameters<Client['subscribe']>) => connection().subscribe(...args),
    terminate: () => current?.client.terminate(),
  };

  return {
    send(request, _token, signal) {
      return new Promise<OperationAnswer>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        clearTimeout(idle);
        active++;
        let answer: OperationAnswer = {};
        let settled = false;
        const finish = (settle: () => void) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          if (--active === 0) {
            idle = setTimeout(() => {
              const idleConnection = current;
              current = undefined;
              void Promise.resolve(idleConnection?.client.dispose()).catch(() => {});
            }, IDLE_CLOSE_MS);
          }
          settle();
        };
        const unsubscribe = client.subscribe(
          {
            query: request.query,
            operationName: request.operationName,
            variables: request.variables,
            extensions: { idempotencyKey: request.idempotencyKey },
          },
          {
            next: (result) => {
              answer = result as OperationAnswer;
            },
            complete: () => finish(() => resolve(answer)),
            error: (error: unknown) =>
              finish(() => {
                if (Array.isArray(error)) return resolve({ errors: error as GraphQLErrorShape[] });
                const close = error as { code?: unknown; reason?: unknown };
                if (typeof close.code === 'number') return reject(failureOfClose(close.code, String(close.reason ?? '')));
                reject(new ProducerError('NETWORK_ERROR', `no answer over the WebSocket (${(error as Error)?.message ?? error}); the outcome is unknown`, { cause: error }));
              }),
          },
        );
        function onAbort() {
          finish(() => {
            unsubscribe();
            // A socket that let an answer time out may be half open: the next attempt gets a new one.
            if ((signal.reason as ProducerError | undefined)?.code === 'TIMEOUT') client.terminate();
            reject(signal.reason);
          });
        }
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    async close() {
      clearTimeout(idle);
      const last = current;
      current = undefined;
      await Promise.resolve(last?.client.dispose()).catch(() => {});
    },
  };
}
