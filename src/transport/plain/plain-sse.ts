import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../../observability/metrics.js';
import type { AudienceMember } from '../../fanout/audiences.js';
import type { PlainAdmission, PlainStreams } from './plain-streams.js';
import { refusalCode } from './plain-streams.js';
import { PlainStreamRefusal, redactedUrl } from './plain-routes.js';
import { logConnection } from '../connection-log.js';

const TRANSPORT = 'sse-plain';

/**
 * How long EventSource waits before it reconnects after the stream ended or broke (its own
 * default is about three seconds): a drained or restarted server's clients come back soon.
 */
export const PLAIN_SSE_RETRY_MS = 1000;

/** One SSE event naming an error; the stream ends after it. */
function sseError(code: string, message: string): string {
  return `event: error\ndata: ${JSON.stringify({ code, message })}\n\n`;
}

/**
 * An event stream is the only thing these paths serve over plain HTTP, so any Accept that
 * allows it will do (curl's default, any type, too); anything else is answered 406.
 */
function acceptable(request: IncomingMessage): PlainStreamRefusal | undefined {
  if (request.method !== 'GET') {
    return new PlainStreamRefusal(405, 'METHOD_NOT_ALLOWED', 'streams are read with GET', { allow: 'GET, OPTIONS' });
  }
  const accept = request.headers.accept;
  if (accept === undefined || /(^|,)\s*(text\/event-stream|text\/\*|\*\/\*)\s*(;|,|$)/i.test(accept)) return undefined;
  return new PlainStreamRefusal(406, 'NOT_ACCEPTABLE', 'ask for Accept: text/event-stream, or open the same URL as a WebSocket');
}

export interface PlainSseOptions {
  streams: PlainStreams;
  /** How often an idle stream gets a comment line, so proxies keep it open. @default 15000 */
  heartbeatMs: number;
  metrics: Metrics;
  logger: Logger;
}

export interface PlainSse {
  /** Answers any request to a plain stream path that is not a WebSocket upgrade. */
  serve(request: IncomingMessage, response: ServerResponse): void;
  /** Ends every stream, as the server drains; EventSource reconnects and resumes. */
  endAll(): void;
}

/**
 * Plain streams over Server-Sent Events: one event per message, with `id: <cursor>` and
 * `event: <dotted type>`, so a browser's EventSource resumes by itself (it sends the last
 * id in Last-Event-ID). Refusals before the stream are HTTP errors with a JSON body; a cursor
 * that cannot be resumed, and a token that expires, send `event: error` and end the stream.
 * Browsers on other origins may read the streams (CORS) when the origin is allowed.
 */
export function createPlainSse(options: PlainSseOptions): PlainSse {
  const { streams, metrics, logger } = options;
  const open = new Set<() => void>();

  const { corsHeaders } = streams.origins;

  function refuse(response: ServerResponse, origin: string | undefined, refusal: PlainStreamRefusal): void {
    response.writeHead(refusal.status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...corsHeaders(origin),
      ...refusal.headers,
    });
    response.end(JSON.stringify(refusal.body));
  }

  async function stream(request: IncomingMessage, response: ServerResponse, admission: PlainAdmission): Promise<void> {
    const connection = logConnection(metrics, logger, TRANSPORT, request, { url: redactedUrl(request.url) });
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to, which would hold events back.
      'x-accel-buffering': 'no',
      ...corsHeaders(request.headers.origin),
    });
    response.write(`retry: ${PLAIN_SSE_RETRY_MS}\n\n`);

    let cutOff = false;
    let handle: AsyncIterableIterator<never> | undefined;
    const member: AudienceMember = {
      field: admission.request.route.field,
      send: (payload) => response.write(payload.sseFrame),
      sendOwn: (payload) => new Promise((resolve) => response.write(payload.sseFrame, () => resolve())),
      backlog: () => response.writableLength,
      isOpen: () => !response.destroyed && !response.writableEnded,
      cutOff: () => {
        cutOff = true;
        metrics.slowConsumers.inc({ transport: TRANSPORT });
      },
    };
    const heartbeat = setInterval(() => member.isOpen() && response.write(':\n\n'), options.heartbeatMs);
    let ending: string | undefined;
    const end = (last?: string) => {
      ending ??= last ?? '';
      void handle?.return?.();
    };
    // A stream lives no longer than the token that opened it; the client reconnects with a fresh one.
    const { expiresAt } = admission.viewer;
    const expiry =
      expiresAt === undefined
        ? undefined
        : setTimeout(() => end(sseError('UNAUTHENTICATED', 'token expired')), Math.max(0, expiresAt - Date.now()));
    const finish = () => {
      clearInterval(heartbeat);
      clearTimeout(expiry);
      admission.release();
      open.delete(end);
      // A slow consumer's unread bytes are dropped with its connection; EventSource sees a
      // network error and resumes from the last id it received.
      if (cutOff) response.destroy();
      if (member.isOpen()) response.end(ending ?? '');
    };
    open.add(end);
    response.once('close', () => {
      end();
      connection.closed({
        subject: admission.viewer.subject,
        reason: cutOff ? 'slow consumer' : response.writableEnded ? 'ended' : 'client went away',
      });
    });

    let joined: Awaited<ReturnType<PlainStreams['join']>>;
    try {
      joined = await streams.join(request, admission, member);
    } catch (error) {
      logger.error({ err: error, connectionId: connection.id }, 'plain stream failed to start');
      ending = sseError('INTERNAL_SERVER_ERROR', 'the stream could not be opened');
      return finish();
    }
    if (!(Symbol.asyncIterator in joined)) {
      ending = sseError(refusalCode(joined), joined.errors?.[0]?.message ?? 'the stream was refused');
      return finish();
    }
    handle = joined;
    if (ending !== undefined || !member.isOpen()) void handle.return?.();
    for await (const _ of joined);
    finish();
  }

  return {
    serve(request, response) {
      const origin = request.headers.origin;
      if (request.method === 'OPTIONS') {
        // A preflight, for clients that read the stream with fetch and an Authorization header.
        if (!streams.origins.allows(origin)) return refuse(response, origin, new PlainStreamRefusal(403, 'FORBIDDEN', 'Origin not allowed'));
        response.writeHead(204, streams.origins.preflightHeaders(origin, 'GET', 'authorization, last-event-id, cache-control'));
        response.end();
        return;
      }
      void (async () => {
        let admission: PlainAdmission;
        try {
          admission = await streams.admit(request, { lastEventId: true, acceptable: () => acceptable(request) });
        } catch (error) {
          if (!(error instanceof PlainStreamRefusal)) {
            logger.error({ err: error }, 'plain stream request failed');
            return refuse(response, origin, new PlainStreamRefusal(500, 'INTERNAL_SERVER_ERROR', 'the stream could not be opened'));
          }
          logger.info({ transport: TRANSPORT, status: error.status, code: error.code, url: redactedUrl(request.url) }, 'stream refused');
          return refuse(response, origin, error);
        }
        await stream(request, response, admission);
      })().catch((error: unknown) => {
        logger.error({ err: error }, 'plain stream failed');
        response.destroy();
      });
    },
    endAll() {
      for (const end of [...open]) end();
    },
  };
}
