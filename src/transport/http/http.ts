import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { GRAPHQL_PATH } from '../../graphql-server.js';
import type { Metrics } from '../../observability/metrics.js';
import type { OriginPolicy } from './origin-policy.js';
import type { MetricsEndpoint } from '../../observability/metrics-endpoint.js';
import type { PlainSse } from '../plain/plain-sse.js';
import { isPlainStreamPath } from '../plain/plain-routes.js';
import type { SharedSse } from '../graphql-sse/sse.js';

export interface Readiness {
  /** Why the instance should not get traffic now; empty when ready. */
  notReadyBecause(): string[];
}

/** What a browser's GraphQL client sends across origins: graphql-sse adds its stream token, fetch its content type. */
const GRAPHQL_REQUEST_HEADERS = 'authorization, content-type, accept, x-graphql-event-stream-token, x-request-id';

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

/** yoga's own limit on a request body, kept for the bodies read here instead. */
const MAX_REQUEST_BODY_BYTES = 25_000_000;

const isJson = (contentType: string | undefined) => contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType);

/**
 * A request's body, read here for yoga (JSON) or for a shared SSE subscription, within the
 * limit yoga keeps for the bodies it reads itself: a body declared or sent over it is answered
 * 413 as soon as that is known, and one whose connection broke is dropped. Either way the
 * answer is given here and undefined is returned.
 */
async function readBody(request: IncomingMessage, response: ServerResponse): Promise<Buffer | undefined> {
  const tooLarge = () => {
    response.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
    response.end(JSON.stringify({ errors: [{ message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }] }));
    request.resume();
    return undefined;
  };
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_REQUEST_BODY_BYTES) return tooLarge();
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of request) {
      length += (chunk as Buffer).length;
      if (length > MAX_REQUEST_BODY_BYTES) return tooLarge();
      chunks.push(chunk as Buffer);
    }
  } catch {
    response.destroy();
    return undefined;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * Reads a JSON GraphQL request's body and hands yoga the parsed object, where its Node
 * adapter looks for a body already read (@whatwg-node/server's normalizeNodeRequest): yoga
 * would otherwise wrap the body of every request in a web stream, pipe it through a
 * transform stream to count its bytes (its body size limit) and parse it from there, about
 * a tenth of a mutation's CPU. The limit is kept here. A body that is not a JSON object goes
 * to yoga as read, which answers it as before.
 */
async function serveJson(graphql: RequestListener, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request, response);
  if (!body) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.keys(parsed).length > 0;
  (request as IncomingMessage & { body?: unknown }).body = isObject ? parsed : body;
  graphql(request, response);
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
  /** The origin policy for GraphQL over HTTP and SSE on `path`: preflights, CORS headers, refusals. */
  cors?: { path: string; origins: OriginPolicy };
  /** `/metrics` on this port; unset, the path is GraphQL's (which answers 404). */
  metricsEndpoint?: MetricsEndpoint;
}): RequestListener {
  const { graphql, readiness, metrics, logger, sse, plain, cors, metricsEndpoint } = options;
  async function serveSse(shared: SharedSse, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request, response);
    if (!body) return;
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
    if (cors && path === cors.path) {
      const origin = request.headers.origin;
      if (!cors.origins.allows(origin)) {
        return json(response, 403, { errors: [{ message: 'Origin not allowed', extensions: { code: 'FORBIDDEN' } }] });
      }
      if (request.method === 'OPTIONS') {
        response.writeHead(204, cors.origins.preflightHeaders(origin, 'GET, POST', GRAPHQL_REQUEST_HEADERS));
        response.end();
        return;
      }
      for (const [name, value] of Object.entries(cors.origins.corsHeaders(origin))) response.setHeader(name, value!);
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
      if (sse && request.method === 'POST' && path === sse.graphqlPath) {
        void serveSse(sse.shared, request, response);
        return;
      }
    }
    if (request.method === 'POST' && path === GRAPHQL_PATH && isJson(request.headers['content-type'])) {
      void serveJson(graphql, request, response);
      return;
    }
    graphql(request, response);
  };
}
