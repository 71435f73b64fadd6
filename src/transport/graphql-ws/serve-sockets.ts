import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerOptions } from 'graphql-ws';
import { handleProtocols, makeServer } from 'graphql-ws';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import { CloseCode } from '../close-codes.js';

/** What graphql-ws hands the server's hooks as `context.extra`. */
export interface Extra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/**
 * Unsent bytes a socket may hold and still be told a message is sent at once; above them a
 * send waits for the socket to take it, as a slow reader's answers should.
 */
const SEND_AT_ONCE_BELOW_BYTES = 16 * 1024;

export interface SocketServing {
  /** The TCP connection under a socket upgraded on it: `ws` keeps it private. */
  adopt(socket: WebSocket, connection: Duplex): void;
  /** Closes every socket (1001 Going away) and stops listening to the server. */
  dispose(): Promise<void>;
}

/**
 * graphql-transport-ws over the sockets of `server`, as `graphql-ws/use/ws` serves it (the
 * subprotocol check, a ping every `keepAliveMs` and a terminate when no pong comes back),
 * with two differences:
 * - What a socket is sent within one turn of the event loop leaves in one write: an
 *   operation's `next` and `complete` are one system call instead of two. A send resolves
 *   at once while the socket holds little unsent, so graphql-ws sends the `complete` in the
 *   same turn; past that it resolves once the socket took the message.
 * - A hook that throws closes its socket with 1011 and is logged, not printed to stderr. A
 *   socket's own errors are left to whoever listens for its `error` (see websocket.ts).
 */
export function serveSockets<P extends Record<string, unknown> | undefined>(
  options: ServerOptions<P, Extra>,
  server: WebSocketServer,
  logger: Logger,
  keepAliveMs = 12_000,
): SocketServing {
  const protocolServer = makeServer<P, Extra>(options);
  server.options.handleProtocols = handleProtocols;
  const connections = new WeakMap<WebSocket, Duplex>();

  /** Holds a socket's writes until the current turn's work is done, then writes them as one. */
  function holdForTurn(connection: Duplex | undefined) {
    if (!connection || connection.writableCorked > 0) return;
    connection.cork();
    process.nextTick(() => connection.uncork());
  }

  server.on('connection', (socket, request) => {
    let pongWait: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, keepAliveMs);
    const closed = protocolServer.opened(
      {
        protocol: socket.protocol,
        send(data) {
          if (socket.readyState !== socket.OPEN) return;
          holdForTurn(connections.get(socket));
          if (socket.bufferedAmount < SEND_AT_ONCE_BELOW_BYTES) {
            socket.send(data);
            return;
          }
          return new Promise<void>((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              logger.error({ err: error }, 'websocket message handling failed');
              socket.close(CloseCode.InternalError, 'Internal server error');
            }
          }),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      clearInterval(ping);
      clearTimeout(pongWait);
      void closed(code, String(reason));
    });
  });

  return {
    adopt: (socket, connection) => connections.set(socket, connection),
    async dispose() {
      for (const client of server.clients) client.close(CloseCode.GoingAway, 'Going away');
      server.removeAllListeners('connection');
    },
  };
}
