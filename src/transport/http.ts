import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { MetricsEndpoint } from '../observability/metrics-endpoint.js';
import type { PlainSse } from './plain-sse.js';
import { isPlainStreamPath } from './plain-routes.js';
import type { SharedSse } from './sse.js';
import { readBody } from './sse.js';

export interface Readiness {
  /** Why the instance should not get traffic now; empty when ready. */
  notReadyBecause(): string[];
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

/**
 * The HTTP front: `/health` (the process answers), `/ready` (send it traffic), `/metrics`
 * (Prometheus, when served on this port), plain streams under `/api/stream`, and everything else to GraphQL. SSE
 * streams are connections of their own and get an id, an open line and a close line in the log.
 */
export function createRequestHandler(options: {
  graphql: RequestListener;
  readiness: Readiness;
  metrics: Metrics;
  logger: Logger;
  /** Shared SSE subscriptions, tried before yoga for SSE POSTs to `graphqlPath`. */
  sse?: { graphqlPath: string; shared: SharedSse };
  /** Plain SSE streams, for every request under `/api/stream` (they log their own connections). */
  plain?: PlainSse;
  /** `/metrics` on this port; unset, the path is GraphQL's (which answers 404). */
  metricsEndpoint?: MetricsEndpoint;
}): RequestListener {
  const { graphql, readiness, metrics, logger, sse, plain, metricsEndpoint } = options;
  async function serveSse(shared: SharedSse, request: IncomingMessage, response: ServerResponse): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(request);
    } catch {
      response.destroy();
      return;
    }
    try {
      if (await shared.serve(request, response, body)) return;
    } catch (error) {
      logger.error({ err: error }, 'shared SSE subscription failed to start');
      if (response.headersSent) {
        response.destroy();
        return;
      }
    }
    // Not shareable: yoga serves it, reading the body from where the Node adapter looks
    // for one that was already read (@whatwg-node/server's normalizeNodeRequest).
    (request as IncomingMessage & { body?: Buffer }).body = body;
    graphql(request, response);
  }

  return (request: IncomingMessage, response: ServerResponse) => {
    const path = request.url?.split('?', 1)[0];
    if (request.method === 'GET' && path === '/health') return json(response, 200, { status: 'ok' });
    if (request.method === 'GET' && path === '/ready') {
      const reasons = readiness.notReadyBecause();
      return json(response, reasons.length ? 503 : 200, reasons.length ? { status: 'not ready', reasons } : { status: 'ready' });
    }
    if (metricsEndpoint && request.method === 'GET' && path === '/metrics') return metricsEndpoint(request, response);
    if (plain && path !== undefined && isPlainStreamPath(path)) return plain.serve(request, response);
    if (request.headers.accept?.includes('text/event-stream')) {
      const connectionId = (request.headers['x-request-id'] as string | undefined)?.slice(0, 64) ?? randomUUID();
      const opened = Date.now();
      metrics.connections.inc({ transport: 'sse' });
      logger.info({ connectionId, transport: 'sse', remote: request.socket.remoteAddress }, 'connection opened');
      response.once('close', () => {
        metrics.connections.dec({ transport: 'sse' });
        logger.info(
          { connectionId, transport: 'sse', status: response.statusCode, durationMs: Date.now() - opened, reason: response.writableEnded ? 'ended' : 'client went away' },
          'connection closed',
        );
      });
      if (sse && request.method === 'POST' && path === sse.graphqlPath) {
        void serveSse(sse.shared, request, response);
        return;
      }
    }
    graphql(request, response);
  };
}
