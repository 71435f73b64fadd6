import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createAuthenticator } from './auth/authenticator.js';
import type { Config } from './config.js';
import { createDomain } from './domain.js';
import { drain } from './drain.js';
import type { ProjectFeeds } from './events/project-feeds.js';
import { GRAPHQL_PATH, createGraphQLServer } from './graphql-server.js';
import { createLogger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { createMetrics } from './observability/metrics.js';
import { createConnectionLimiter } from './transport/limiters.js';
import { createTransports } from './transport/transports.js';
import { createMetricsEndpoint } from './observability/metrics-endpoint.js';

export { GRAPHQL_PATH } from './graphql-server.js';

export interface App {
  /** Connects to Redis (when configured) and listens; resolves once both are done. */
  start(): Promise<void>;
  /**
   * Leaves gracefully: not ready at once; after half of `graceMs` no new connections; open
   * ones are served until they leave or the other half is up; then WebSockets are closed
   * with 1012, SSE streams end, requests in flight finish, and everything closes as by `stop()`.
   * @default graceMs config.drainGraceMs
   */
  drain(graceMs?: number): Promise<void>;
  /** Closes sockets and streams, then the HTTP server, then Redis clients. Idempotent. */
  stop(): Promise<void>;
  /** The GraphQL endpoint, known after `start()`. */
  readonly url: string;
  /** Where `/metrics` is served on its own port (`METRICS_PORT`), known after `start()`. */
  readonly metricsUrl: string | undefined;
  readonly feeds: ProjectFeeds;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Connected GraphQL WebSocket clients. */
  webSocketClientCount(): number;
  /** Connected plain WebSocket streams (`/api/stream/…`). */
  plainWebSocketCount(): number;
  /**
   * Shared audiences running (their members are WebSocket subscriptions, SSE streams and
   * plain streams).
   */
  audienceCount(): number;
  /**
   * Live subscriptions on this instance, over every transport: each shared audience holds
   * one feed listener for all its members.
   */
  subscriberCount(): number;
  /**
   * Fails the work idle for ABANDONED_AFTER_SECONDS now, as the instance does by itself from
   * time to time; resolves with how many jobs and runs it failed (0 when the setting is off).
   */
  sweepAbandonedWork(): Promise<number>;
  /**
   * Drops the expired idempotency records of projects that stopped writing now, as the
   * instance does by itself from time to time; resolves with how many projects it looked at.
   */
  sweepIdempotencyRecords(): Promise<number>;
}

/** Who may call, and how many connections each caller may hold. */
function createAccessControl(config: Config, logger: Logger) {
  const authenticator = createAuthenticator(config.auth);
  if (!authenticator.enabled) {
    logger.warn(
      'AUTHENTICATION IS OFF: every caller may read and write every project. Set AUTH_JWT_SECRET, ' +
        'AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL before exposing this server (production refuses to start without).',
    );
  }
  // Without authentication every caller is the same anonymous subject: limits per subject
  // would be limits on everyone together, so they apply only with authentication on.
  const connections = createConnectionLimiter(
    authenticator.enabled ? config.limits.maxConnectionsPerSubject : Number.POSITIVE_INFINITY,
  );
  return { authenticator, connections };
}

/**
 * The whole server: the domain (state, events, feeds), the GraphQL API over it, and the
 * transports that serve it on one port: HTTP (queries, mutations, SSE, GraphiQL, health,
 * metrics), WebSocket, and plain streams for clients without GraphQL at `/api/stream`.
 */
export function createApp(config: Config, logger: Logger = createLogger(config.logLevel)): App {
  const metrics = createMetrics();
  const { backend, feeds, services, abandonedWork, idempotencyRecords, close: closeDomain } = createDomain(config, logger, metrics);
  const { authenticator, connections } = createAccessControl(config, logger);
  const graphql = createGraphQLServer({ config, logger, metrics, services, authenticator, connections });
  let draining = false;
  const metricsEndpoint = createMetricsEndpoint({ metrics, logger, token: config.metricsToken });
  // In production the API's port is the tenants': metrics go there only behind a token.
  const metricsOnApiPort = config.metricsPort === undefined && (!config.production || config.metricsToken !== undefined);
  if (config.production && config.metricsPort === undefined && config.metricsToken === undefined) {
    logger.warn('/metrics is not served: set METRICS_PORT (a port only Prometheus reaches) or METRICS_TOKEN');
  }
  let metricsServer: Server | undefined;
  const transports = createTransports({
    config,
    logger,
    metrics,
    graphql,
    services,
    authenticator,
    connections,
    readiness: { notReadyBecause: () => [...(draining ? ['draining'] : []), ...backend.problems()] },
    metricsEndpoint: metricsOnApiPort ? metricsEndpoint : undefined,
  });

  let url = '';
  let stopping: Promise<void> | undefined;

  function stop(): Promise<void> {
    stopping ??= (async () => {
      if (metricsServer) {
        const closing = metricsServer;
        await new Promise<void>((resolve) => closing.close(() => resolve()));
      }
      await transports.dispose();
      await graphql.yoga.dispose();
      await closeDomain();
    })();
    return stopping;
  }

  return {
    async start() {
      await backend.connect();
      abandonedWork?.start();
      idempotencyRecords.start();
      const { httpServer } = transports;
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      if (config.metricsPort !== undefined) {
        const server = createServer((request, response) => {
          if (request.method === 'GET' && request.url?.split('?', 1)[0] === '/metrics') return metricsEndpoint(request, response);
          response.writeHead(404).end();
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.metricsPort, config.host, () => resolve());
        });
        metricsServer = server;
      }
      const { port } = httpServer.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}${GRAPHQL_PATH}`;
    },
    async drain(graceMs = config.drainGraceMs) {
      if (draining || stopping) return stop();
      draining = true;
      await drain({ graceMs, logger, transports, stop });
    },
    stop,
    get url() {
      return url;
    },
    get metricsUrl() {
      const address = metricsServer?.address() as AddressInfo | undefined;
      return address && `http://127.0.0.1:${address.port}/metrics`;
    },
    feeds,
    logger,
    metrics,
    webSocketClientCount: () => transports.graphqlWebSocketCount(),
    plainWebSocketCount: () => transports.plainWebSocketCount(),
    audienceCount: () => transports.audiences.count(),
    subscriberCount: () => feeds.subscriberCount() - transports.audiences.count() + transports.audiences.memberCount(),
    sweepAbandonedWork: async () => (abandonedWork ? abandonedWork.sweep() : 0),
    sweepIdempotencyRecords: () => idempotencyRecords.sweep(),
  };
}
