import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';

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
 * (Prometheus), and everything else to GraphQL. SSE streams are connections of their own and
 * get an id, an open line and a close line in the log.
 */
export function createRequestHandler(options: {
  graphql: RequestListener;
  readiness: Readiness;
  metrics: Metrics;
  logger: Logger;
}): RequestListener {
  const { graphql, readiness, metrics, logger } = options;
  return (request: IncomingMessage, response: ServerResponse) => {
    const path = request.url?.split('?', 1)[0];
    if (request.method === 'GET' && path === '/health') return json(response, 200, { status: 'ok' });
    if (request.method === 'GET' && path === '/ready') {
      const reasons = readiness.notReadyBecause();
      return json(response, reasons.length ? 503 : 200, reasons.length ? { status: 'not ready', reasons } : { status: 'ready' });
    }
    if (request.method === 'GET' && path === '/metrics') {
      metrics.scrape().then(
        (text) => {
          response.writeHead(200, { 'content-type': metrics.contentType });
          response.end(text);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'metrics collection failed');
          json(response, 500, { status: 'error' });
        },
      );
      return;
    }
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
    }
    graphql(request, response);
  };
}
