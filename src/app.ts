import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { createAgentService } from './agent/agent-service.js';
import { AuthenticationError, createAuthenticator } from './auth/authenticator.js';
import type { Viewer } from './auth/viewer.js';
import { accessFor } from './auth/viewer.js';
import type { Config } from './config.js';
import type { GraphQLContext } from './context.js';
import type { EventRecord } from './events/event-record.js';
import { createEventStreams } from './events/event-streams.js';
import { createProjectFeeds } from './events/project-feeds.js';
import type { ProjectFeeds } from './events/project-feeds.js';
import type { PubSub } from './events/pubsub.js';
import { createMemoryPubSub, createRedisPubSub, projectChannel } from './events/pubsub.js';
import { createIngestService } from './ingest/ingest-service.js';
import { DomainError } from './errors.js';
import { createMaskError } from './mask-error.js';
import { createEventsSchema } from './schema.js';
import { createChangeApplier } from './store/change-applier.js';
import { createMemoryStateStore } from './store/memory-state-store.js';
import { createRedisStateStore } from './store/redis-state-store.js';
import type { StateStore } from './store/state-store.js';
import { createConnectionLimiter, createRateLimiter } from './transport/limiters.js';
import { documentLimitPlugins, mutationRateLimitPlugin } from './transport/security-plugins.js';
import { attachWebSocketTransport } from './transport/websocket.js';
import { createWorkflowService } from './workflow/workflow-service.js';

export const GRAPHQL_PATH = '/graphql';

export interface App {
  /** Connects to Redis (when configured) and listens; resolves once both are done. */
  start(): Promise<void>;
  /** Closes sockets and streams, then the HTTP server, then Redis clients. Idempotent. */
  stop(): Promise<void>;
  /** The GraphQL endpoint, known after `start()`. */
  readonly url: string;
  readonly feeds: ProjectFeeds;
  readonly logger: Logger;
  /** Connected WebSocket clients. */
  webSocketClientCount(): number;
}

interface Backend {
  store: StateStore;
  pubsub: PubSub;
  /** Called when the PubSub connection is back after a loss; messages may have been missed. */
  onReconnect(listener: () => void): void;
  connect(): Promise<void>;
  close(): Promise<void>;
}

function createBackend(config: Config, logger: Logger): Backend {
  if (!config.redisUrl) {
    return {
      store: createMemoryStateStore(config.retention),
      pubsub: createMemoryPubSub(),
      onReconnect: () => {},
      connect: async () => {},
      close: async () => {},
    };
  }
  const options = { lazyConnect: true, connectionName: 'realtime-events' };
  // Commands fail at once while Redis is unreachable instead of queueing: a mutation is
  // then refused with SERVICE_UNAVAILABLE rather than left hanging or half-done.
  const commands = new Redis(config.redisUrl, { ...options, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const subscriber = new Redis(config.redisUrl, options);
  for (const [role, client] of [['commands', commands], ['subscriber', subscriber]] as const) {
    client.on('error', (error: Error) => logger.warn({ role, err: error.message }, 'redis connection error'));
  }
  return {
    store: createRedisStateStore(commands, { prefix: config.redisKeyPrefix, retention: config.retention }),
    pubsub: createRedisPubSub({ publisher: commands, subscriber }),
    onReconnect(listener) {
      let connectedBefore = false;
      subscriber.on('ready', () => {
        if (!connectedBefore) {
          connectedBefore = true;
          return;
        }
        // ioredis emits 'ready' before it re-sends the SUBSCRIBEs; a PING queued after them
        // answers once they are in effect, and only then is the log read.
        setImmediate(() => {
          subscriber.ping().then(listener, (error: Error) => logger.warn({ err: error.message }, 'redis ping failed'));
        });
      });
    },
    async connect() {
      await Promise.all([commands.connect(), subscriber.connect()]);
    },
    async close() {
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}

/**
 * The whole server: HTTP (queries, mutations, SSE, GraphiQL) and WebSocket on one port,
 * over the in-process or the Redis backend.
 */
export function createApp(config: Config, logger: Logger = pino({ level: config.logLevel })): App {
  const backend = createBackend(config, logger);
  const channelFor = (projectId: string) => projectChannel(config.redisKeyPrefix, projectId);

  const publish = async (events: EventRecord[]) => {
    for (const event of events) {
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
    onError: (error) => logger.error({ err: error }, 'project feed error'),
    onGapFilled: (projectId, range) => logger.warn({ projectId, ...range }, 'read events missed live from the log'),
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
    agent: createAgentService(domain),
    workflow: createWorkflowService(domain),
    streams: createEventStreams({ feeds, store: backend.store, maxQueuedEvents: config.limits.maxQueuedEvents }),
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

  const yoga = createYoga<object, GraphQLContext>({
    schema: createEventsSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    context: async (initial): Promise<GraphQLContext> => {
      // WebSocket connections authenticated once in connection_init and pass their viewer in.
      const fromSocket = initial as Partial<Pick<GraphQLContext, 'viewer' | 'onSlowConsumer'>>;
      if (fromSocket.viewer) {
        return { ...services, viewer: fromSocket.viewer, access: accessFor(fromSocket.viewer), onSlowConsumer: fromSocket.onSlowConsumer };
      }
      const viewer = await authenticateRequest(initial.request);
      return { ...services, viewer, access: accessFor(viewer), holdConnection: () => holdConnection(viewer) };
    },
    plugins: [
      ...documentLimitPlugins(config.limits, config.production),
      ...(authenticator.enabled ? [mutationRateLimitPlugin(createRateLimiter(config.limits.mutationsPerSecond))] : []),
    ],
    maskedErrors: { maskError: createMaskError(logger), isDev: !config.production },
    graphiql: config.graphiql ? { subscriptionsProtocol: 'WS', title: 'Real-time events API' } : false,
    landingPage: false,
    // Unexpected errors are logged where they are masked; expected ones are answers, not faults.
    logging: false,
  });
  const httpServer = createServer(yoga);
  const webSocket = attachWebSocketTransport(httpServer, yoga, {
    path: GRAPHQL_PATH,
    authenticator,
    connections,
    limits: config.limits,
    allowedOrigins: config.allowedOrigins,
    logger,
  });

  let url = '';
  let stopping: Promise<void> | undefined;

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
    stop() {
      stopping ??= (async () => {
        await webSocket.dispose();
        // SSE responses are open requests: end them so the server can close.
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        feeds.close();
        await yoga.dispose();
        await backend.close();
      })();
      return stopping;
    },
    get url() {
      return url;
    },
    feeds,
    logger,
    webSocketClientCount: () => webSocket.clientCount(),
  };
}
