import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { Metrics } from '../../observability/metrics.js';
import type { AudienceMember } from '../../fanout/audiences.js';
import { CloseCode } from '../close-codes.js';
import type { PlainAdmission, PlainStreams } from './plain-streams.js';
import { refusalCode } from './plain-streams.js';
import { PlainStreamRefusal, isPlainStreamPath, redactedUrl } from './plain-routes.js';
import type { UpgradeRoute } from '../http/upgrades.js';
import { refuseUpgrade } from '../http/upgrades.js';
import { closeSlowConsumer } from '../graphql-ws/websocket.js';
import { logConnection } from '../connection-log.js';

const TRANSPORT = 'ws-plain';

/** How long sockets get to finish their close handshake when the server stops. */
const STOP_CLOSE_GRACE_MS = 1000;

/** The close code for a result that refused a stream after the upgrade. */
const CLOSE_CODE_OF: Record<string, number> = {
  CURSOR_EXPIRED: CloseCode.CursorExpired,
  FORBIDDEN: CloseCode.Forbidden,
  BAD_USER_INPUT: CloseCode.BadRequest,
  RATE_LIMITED: CloseCode.RateLimited,
};

export interface PlainWebSocketOptions {
  streams: PlainStreams;
  /** Largest frame accepted from a client (clients have nothing to send). */
  maxPayloadBytes: number;
  /** How often each socket is pinged; one that has not answered the previous ping is cut. */
  heartbeatMs: number;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Plain streams over WebSocket: each text frame is one JSON message. Everything that can be
 * refused is refused before the upgrade, with an HTTP status and a JSON body; after it, the
 * socket closes with 4410 for a cursor that cannot be resumed, 4403 when the token expires,
 * 4413 for a slow consumer, 1012 when the server drains and 1001 when it stops.
 */
export function createPlainWebSocketTransport(options: PlainWebSocketOptions): UpgradeRoute & {
  clientCount(): number;
  closeAll(code: number, reason: string): void;
  dispose(): Promise<void>;
} {
  const { streams, metrics, logger } = options;
  const server = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const answered = new WeakSet<WebSocket>();
  const heartbeat = setInterval(() => {
    for (const socket of server.clients) {
      if (!answered.has(socket)) {
        socket.terminate();
        continue;
      }
      answered.delete(socket);
      socket.ping();
    }
  }, options.heartbeatMs);
  heartbeat.unref();

  function serve(socket: WebSocket, request: IncomingMessage, admission: PlainAdmission): void {
    const connection = logConnection(metrics, logger, TRANSPORT, request, { url: redactedUrl(request.url) });
    answered.add(socket);
    socket.on('pong', () => answered.add(socket));
    // A plain stream only sends; whatever a client sends is ignored.
    socket.on('message', () => {});
    socket.on('error', () => {});

    const member: AudienceMember = {
      field: admission.request.route.field,
      send: (payload) => socket.send(payload.jsonBytes, { binary: false }),
      sendOwn: (payload) => new Promise((resolve) => socket.send(payload.jsonBytes, { binary: false }, () => resolve())),
      backlog: () => socket.bufferedAmount,
      isOpen: () => socket.readyState === socket.OPEN,
      cutOff: () => closeSlowConsumer(socket, metrics, TRANSPORT),
    };
    let handle: AsyncIterableIterator<never> | undefined;
    // A stream lives no longer than the token that opened it; the client reconnects with a fresh one.
    const { expiresAt } = admission.viewer;
    const expiry =
      expiresAt === undefined ? undefined : setTimeout(() => socket.close(CloseCode.Forbidden, 'Token expired'), Math.max(0, expiresAt - Date.now()));
    socket.once('close', (code, reason) => {
      clearTimeout(expiry);
      admission.release();
      void handle?.return?.();
      connection.closed({ code, reason: String(reason), subject: admission.viewer.subject });
    });

    void (async () => {
      let joined: AsyncIterableIterator<never> | Awaited<ReturnType<PlainStreams['join']>>;
      try {
        joined = await streams.join(request, admission, member);
      } catch (error) {
        logger.error({ err: error, connectionId: connection.id }, 'plain stream failed to start');
        socket.close(CloseCode.InternalError, 'INTERNAL_SERVER_ERROR');
        return;
      }
      if (!(Symbol.asyncIterator in joined)) {
        const code = refusalCode(joined);
        socket.close(CLOSE_CODE_OF[code] ?? CloseCode.InternalError, code);
        return;
      }
      handle = joined;
      if (!member.isOpen()) void handle.return?.();
      // The membership yields nothing: it ends when the audience, the client, a drain or
      // the outgoing budget ends it. Ended by the server, the client reconnects and resumes.
      for await (const _ of joined);
      if (member.isOpen()) socket.close(CloseCode.ServiceRestart, 'Stream ended');
    })();
  }

  return {
    matches: isPlainStreamPath,
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
      void (async () => {
        let admission: PlainAdmission;
        try {
          admission = await streams.admit(request, { lastEventId: false });
        } catch (error) {
          if (!(error instanceof PlainStreamRefusal)) {
            logger.error({ err: error }, 'plain stream upgrade failed');
            return refuseUpgrade(socket, 500, { code: 'INTERNAL_SERVER_ERROR', message: 'the stream could not be opened' });
          }
          logger.info({ transport: TRANSPORT, status: error.status, code: error.code, url: redactedUrl(request.url) }, 'stream refused');
          return refuseUpgrade(socket, error.status, error.body, error.headers);
        }
        // The slot is held as long as the connection, whether or not the handshake succeeds
        // (ws refuses a malformed one); releasing is idempotent.
        if (!socket.writable) return admission.release();
        socket.once('close', () => admission.release());
        server.handleUpgrade(request, socket, head, (client) => serve(client, request, admission));
      })();
    },
    clientCount: () => server.clients.size,
    closeAll(code, reason) {
      for (const client of server.clients) client.close(code, reason);
    },
    async dispose() {
      clearInterval(heartbeat);
      const closing = [...server.clients].map(
        (client) =>
          new Promise<void>((resolve) => {
            client.once('close', () => resolve());
            client.close(CloseCode.GoingAway, 'Server shutting down');
            setTimeout(() => {
              client.terminate();
              resolve();
            }, STOP_CLOSE_GRACE_MS).unref();
          }),
      );
      await Promise.all(closing);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
