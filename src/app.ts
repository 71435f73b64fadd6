import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { Logger } from 'pino';
import { createAgentService } from './agent/agent-service.js';
import { AuthenticationError, createAuthenticator } from './auth/authenticator.js';
import type { Viewer } from './auth/viewer.js';
import { accessFor } from './auth/viewer.js';
import { createBackend } from './backend.js';
import type { Config } from './config.js';
import type { GraphQLContext } from './context.js';
import { DomainError } from './errors.js';
import type { EventRecord } from './events/event-record.js';
import { createEventStreams } from './events/event-streams.js';
import type { ProjectFeeds } from './events/project-feeds.js';
import { createProjectFeeds } from './events/project-feeds.js';
import { createIngestService } from './ingest/ingest-service.js';
import { createMaskError } from './mask-error.js';
import { createLogger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { createMetrics } from './observability/metrics.js';
import { operationMetricsPlugin } from './observability/operation-metrics.js';
import { createEventsSchema } from './schema.js';
import { createChangeApplier } from './store/change-applier.js';
import { CloseCode } from './transport/close-codes.js';
import { createAudiences } from './transport/audiences.js';
import { createRequestHandler } from './transport/http.js';
import { createConnectionLimiter, createRateLimiter } from './transport/limiters.js';
import { documentLimitPlugins, mutationRateLimitPlugin } from './transport/security-plugins.js';
import { createPlainSse } from './transport/plain-sse.js';
import { createPlainStreams } from './transport/plain-streams.js';
import { createPlainWebSocketTransport } from './transport/plain-websocket.js';
import { createSharedSse } from './transport/sse.js';
import { routeUpgrades } from './transport/upgrades.js';
import { createWebSocketTransport } from './transport/websocket.js';
import { createWorkflowService } from './workflow/workflow-service.js';

export const GRAPHQL_PATH = '/graphql';

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
}

/**
 * The whole server: HTTP (queries, mutations, SSE, GraphiQL, health, metrics), WebSocket, and
 * plain streams for clients without GraphQL at `/api/stream`, on one port, over the
 * in-process or the Redis backend.
 */
export function createApp(config: Config, logger: Logger = createLogger(config.logLevel)): App {
  const metrics = createMetrics();
  const backend = createBackend(config, logger, metrics);
  const { channelFor } = backend;

  const publish = async (events: EventRecord[]) => {
    for (const event of events) {
      metrics.eventsPublished.inc({ type: event.type });
      try {
        await backend.pubsub.publish(channelFor(event.projectId), event);
      } catch (error) {
        // The change and its event are committed; failing the mutation now would invite a
        // duplicate retry. Feeds notice the missing position and read it from the log.
        logger.error({ err: error, projectId: event.projectId, seq: event.seq }, 'event publish failed');
      }
    }
  };
  const domain = { store: backend.store, changes: createChangeApplier({ store: backend.store, publish }) };
  const feeds = createProjectFeeds({
    pubsub: backend.pubsub,
    channelFor,
    log: backend.store,
    gapTimeoutMs: config.gapTimeoutMs,
    onDeliver: (event) => metrics.deliveryLatency.observe((Date.now() - Date.parse(event.occurredAt)) / 1000),
    onError: (error) => logger.error({ err: error }, 'project feed error'),
    onGapFilled: (projectId, range) => {
      metrics.gapFilledEvents.inc(range.toSeq - range.fromSeq + 1 - range.lost);
      logger.warn({ projectId, ...range }, 'read events missed live from the log');
    },
  });
  backend.onReconnect(() => {
    logger.warn('Redis subscriber reconnected; catching up from the event logs');
    void feeds.catchUp();
  });

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
  const holdConnection = (viewer: Viewer) => {
    const release = connections.acquire(viewer.subject);
    if (!release) throw new DomainError('RATE_LIMITED', 'this token already holds the most connections allowed');
    return release;
  };
  const services = {
    ingest: createIngestService(domain),
    agent: createAgentService({
      ...domain,
      limits: config.entityLimits,
      deltaWindowMs: config.agentDeltaWindowMs,
      onError: (error) => logger.warn({ err: error }, 'streamed text not sent yet; it goes out with the next delta or the finish'),
    }),
    workflow: createWorkflowService({ ...domain, limits: config.entityLimits }),
    streams: createEventStreams({ feeds, store: backend.store, maxQueuedEvents: config.limits.maxQueuedEvents, metrics }),
  };

  /** HTTP and SSE callers present their token on every request. */
  async function authenticateRequest(request: Request): Promise<Viewer> {
    try {
      return await authenticator.authenticate(request.headers.get('authorization'));
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      throw new GraphQLError(error.message, {
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
      });
    }
  }

  const schema = createEventsSchema();
  const yoga = createYoga<object, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    context: async (initial): Promise<GraphQLContext> => {
      // WebSocket connections authenticated once in connection_init and pass their viewer in.
      const fromSocket = initial as Partial<Pick<GraphQLContext, 'viewer' | 'onSlowConsumer'>>;
      if (fromSocket.viewer) {
        const { viewer, onSlowConsumer } = fromSocket;
        return { ...services, viewer, access: accessFor(viewer), onSlowConsumer };
      }
      const viewer = await authenticateRequest(initial.request);
      return { ...services, viewer, access: accessFor(viewer), holdConnection: () => holdConnection(viewer) };
    },
    plugins: [
      operationMetricsPlugin(metrics),
      ...documentLimitPlugins(config.limits, config.production),
      ...(authenticator.enabled ? [mutationRateLimitPlugin(createRateLimiter(config.limits.mutationsPerSecond))] : []),
    ],
    maskedErrors: { maskError: createMaskError(logger, metrics), isDev: !config.production },
    graphiql: config.graphiql ? { subscriptionsProtocol: 'WS', title: 'Real-time events API' } : false,
    // GraphiQL's scripts and styles inlined in the page: yoga's default loads them from a CDN,
    // which leaves GraphiQL blank on a machine without internet.
    renderGraphiQL,
    landingPage: false,
    // Unexpected errors are logged where they are masked; expected ones are answers, not faults.
    logging: false,
  });

  const audiences = createAudiences({
    metrics,
    outgoingBufferBytes: config.limits.outgoingBufferBytes,
    maxQueuedEvents: config.limits.maxQueuedEvents,
    onError: (error) => logger.error({ err: error }, 'shared subscription failed; its members were completed'),
  });
  const sharedSse = createSharedSse({
    yoga,
    audiences,
    authenticator,
    acquireConnection: (viewer) => connections.acquire(viewer.subject),
    outgoingBufferBytes: config.limits.outgoingBufferBytes,
    metrics,
    logger,
  });
  const plainStreams = createPlainStreams({
    schema,
    yoga,
    audiences,
    authenticator,
    connections,
    allowedOrigins: config.allowedOrigins,
  });
  const plainSse = createPlainSse({ streams: plainStreams, heartbeatMs: config.streamHeartbeatMs, metrics, logger });
  /** Ends every SSE stream, private, shared and plain, as the server drains or stops. */
  const endStreams = () => {
    services.streams.endAll();
    sharedSse.endAll();
    plainSse.endAll();
  };

  let draining = false;
  const httpServer = createServer(
    createRequestHandler({
      graphql: yoga,
      metrics,
      logger,
      readiness: { notReadyBecause: () => [...(draining ? ['draining'] : []), ...backend.problems()] },
      sse: config.fanout === 'shared' ? { graphqlPath: GRAPHQL_PATH, shared: sharedSse } : undefined,
      plain: plainSse,
    }),
  );
  const webSocket = createWebSocketTransport(yoga, {
    path: GRAPHQL_PATH,
    fanout: config.fanout,
    audiences,
    authenticator,
    connections,
    limits: config.limits,
    allowedOrigins: config.allowedOrigins,
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
  const webSocketCount = () => webSocket.clientCount() + plainWebSocket.clientCount();

  let url = '';
  let stopping: Promise<void> | undefined;

  function stop(): Promise<void> {
    stopping ??= (async () => {
      stopRoutingUpgrades();
      await Promise.all([webSocket.dispose(), plainWebSocket.dispose()]);
      services.agent.dispose();
      endStreams();
      // SSE responses are open requests: end them so the server can close.
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      feeds.close();
      await yoga.dispose();
      await backend.close();
    })();
    return stopping;
  }

  return {
    async start() {
      await backend.connect();
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const { port } = httpServer.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}${GRAPHQL_PATH}`;
    },
    async drain(graceMs = config.drainGraceMs) {
      if (draining || stopping) return stop();
      draining = true;
      // First half: not ready but still accepting, so load balancers see the 503 and stop
      // sending new clients before connections are refused.
      logger.info({ graceMs }, 'draining: not ready');
      await sleep(graceMs / 2);
      // Second half: no new connections; open ones are served until they leave or time is up.
      logger.info('draining: refusing new connections');
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      const deadline = Date.now() + graceMs / 2;
      while (webSocketCount() > 0 && Date.now() < deadline) await sleep(Math.min(50, graceMs / 2));
      webSocket.closeAll(CloseCode.ServiceRestart, 'Server restarting');
      plainWebSocket.closeAll(CloseCode.ServiceRestart, 'Server restarting');
      endStreams();
      // Requests in flight (mutations) finish; only then is everything else closed.
      await Promise.race([closed, sleep(Math.max(graceMs / 2, 1000))]);
      await stop();
      logger.info('drained');
    },
    stop,
    get url() {
      return url;
    },
    feeds,
    logger,
    metrics,
    webSocketClientCount: () => webSocket.clientCount(),
    plainWebSocketCount: () => plainWebSocket.clientCount(),
    audienceCount: () => audiences.count(),
    subscriberCount: () => feeds.subscriberCount() - audiences.count() + audiences.memberCount(),
  };
}
