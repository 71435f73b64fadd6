import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { Config } from '../config.js';
import type { Services } from '../domain.js';
import type { GraphQLServer } from '../graphql-server.js';
import { GRAPHQL_PATH } from '../graphql-server.js';
import type { Metrics } from '../observability/metrics.js';
import type { MetricsEndpoint } from '../observability/metrics-endpoint.js';
import { createAudiences } from '../fanout/audiences.js';
import type { Readiness } from './http/http.js';
import { createRequestHandler } from './http/http.js';
import type { ConnectionLimiter } from './limiters.js';
import { createRateLimiter } from './limiters.js';
import { createOriginPolicy } from './http/origin-policy.js';
import { createPlainSse } from './plain/plain-sse.js';
import { createPlainStreams } from './plain/plain-streams.js';
import { createPlainWebSocketTransport } from './plain/plain-websocket.js';
import { createSharedSse } from './graphql-sse/sse.js';
import { routeUpgrades } from './http/upgrades.js';
import { createWebSocketTransport } from './graphql-ws/websocket.js';

/** Every way in, on one HTTP server: queries and mutations, SSE, WebSockets, plain streams. */
export interface Transports {
  httpServer: Server;
  /** Connected GraphQL WebSocket clients. */
  graphqlWebSocketCount(): number;
  /** Connected plain WebSocket streams (`/api/stream/…`). */
  plainWebSocketCount(): number;
  /** Shared audiences running, and the subscriptions taking part in them. */
  audiences: { count(): number; memberCount(): number };
  /** Closes every WebSocket, GraphQL and plain, with `code`. */
  closeWebSockets(code: number, reason: string): void;
  /** Ends every SSE stream, private, shared and plain. */
  endStreams(): void;
  /** Refuses new connections; resolves once every request in flight has finished. */
  stopAccepting(): Promise<void>;
  /** Closes sockets and streams, then the HTTP server. */
  dispose(): Promise<void>;
}

/**
 * The transports and what they share: one set of audiences (so an event is executed and
 * serialised once per audience whichever way its members came in), the origin allowlist,
 * the per-subject connection limit and the slow-consumer budgets.
 */
export function createTransports(options: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  graphql: GraphQLServer;
  services: Services;
  authenticator: Authenticator;
  connections: ConnectionLimiter;
  readiness: Readiness;
  /** `/metrics` on the API's port; unset when it is served elsewhere or not at all. */
  metricsEndpoint?: MetricsEndpoint;
}): Transports {
  const { config, logger, metrics, authenticator, connections, services } = options;
  const { yoga, schema } = options.graphql;
  const origins = createOriginPolicy(config.allowedOrigins);

  const audiences = createAudiences({
    metrics,
    outgoingBufferBytes: config.limits.outgoingBufferBytes,
    maxQueuedEvents: config.limits.maxQueuedEvents,
    replayStallMs: config.limits.replayStallMs,
    holdSubscription: (subject) => services.streams.subscriptionSlot(subject),
    // Like the per-subject limits, only with authentication: without it, one anonymous caller is everyone.
    maxAudiencesPerProject: authenticator.enabled ? config.limits.maxAudiencesPerProject : Number.POSITIVE_INFINITY,
    onError: (error) => logger.error({ err: error }, 'shared subscription failed; its members were completed'),
  });
  const sharedSse = createSharedSse({
    yoga,
    audiences,
    authenticator,
    acquireConnection: (viewer) => connections.acquire(viewer.subject),
    metrics,
    logger,
  });
  const plainStreams = createPlainStreams({
    schema,
    yoga,
    audiences,
    authenticator,
    connections,
    origins,
  });
  const plainSse = createPlainSse({ streams: plainStreams, heartbeatMs: config.streamHeartbeatMs, metrics, logger });

  const httpServer = createServer(
    createRequestHandler({
      graphql: yoga,
      metrics,
      logger,
      readiness: options.readiness,
      sse: config.fanout === 'shared' ? { graphqlPath: GRAPHQL_PATH, shared: sharedSse } : undefined,
      plain: plainSse,
      cors: { path: GRAPHQL_PATH, origins },
      metricsEndpoint: options.metricsEndpoint,
    }),
  );
  const webSocket = createWebSocketTransport(yoga, {
    path: GRAPHQL_PATH,
    fanout: config.fanout,
    audiences,
    atSubscriptionLimit: (subject, starting) => services.streams.atSubscriptionLimit(subject, starting),
    atReplayLimit: (subject) => services.streams.atReplayLimit(subject),
    // Like the other per-subject limits, only with authentication: without it, one anonymous caller is everyone.
    subscriptionStarts: authenticator.enabled ? createRateLimiter(config.limits.subscriptionsPerSecond) : undefined,
    authenticator,
    connections,
    limits: config.limits,
    origins,
    logger,
    metrics,
  });
  const plainWebSocket = createPlainWebSocketTransport({
    streams: plainStreams,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    heartbeatMs: config.streamHeartbeatMs,
    metrics,
    logger,
  });
  const stopRoutingUpgrades = routeUpgrades(httpServer, [webSocket, plainWebSocket]);

  const endStreams = () => {
    services.streams.endAll();
    sharedSse.endAll();
    plainSse.endAll();
  };
  let closed: Promise<void> | undefined;
  const stopAccepting = () => (closed ??= new Promise<void>((resolve) => httpServer.close(() => resolve())));

  return {
    httpServer,
    graphqlWebSocketCount: () => webSocket.clientCount(),
    plainWebSocketCount: () => plainWebSocket.clientCount(),
    audiences,
    closeWebSockets(code, reason) {
      webSocket.closeAll(code, reason);
      plainWebSocket.closeAll(code, reason);
    },
    endStreams,
    stopAccepting,
    async dispose() {
      stopRoutingUpgrades();
      await Promise.all([webSocket.dispose(), plainWebSocket.dispose()]);
      endStreams();
      // SSE responses are open requests: end them so the server can close.
      httpServer.closeAllConnections();
      await stopAccepting();
    },
  };
}
