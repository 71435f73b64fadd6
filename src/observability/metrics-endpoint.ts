import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/**
 * `GET /metrics` in Prometheus' text format. With `token`, only for `Authorization: Bearer
 * <token>`: the metrics tell who can read them the event volume per type, the Node version
 * and the process's memory, which a tenant of the API has no business seeing.
 */
export function createMetricsEndpoint(options: { metrics: Metrics; logger: Logger; token?: string }) {
  const { metrics, logger } = options;
  const expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);

  function allowed(request: IncomingMessage): boolean {
    if (!expected) return true;
    const given = Buffer.from(request.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  return (request: IncomingMessage, response: ServerResponse): void => {
    if (!allowed(request)) {
      response.writeHead(401, { 'content-type': 'application/json', 'cache-control': 'no-store', 'www-authenticate': 'Bearer' });
      response.end(JSON.stringify({ status: 'unauthorized' }));
      return;
    }
    metrics.scrape().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(text);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'metrics collection failed');
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: 'error' }));
      },
    );
  };
}

export type MetricsEndpoint = ReturnType<typeof createMetricsEndpoint>;
