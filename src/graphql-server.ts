import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphQLSchema } from 'graphql';
import { GraphQLError } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { createYoga } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Authenticator } from './auth/authenticator.js';
import { AuthenticationError } from './auth/authenticator.js';
import type { Viewer } from './auth/viewer.js';
import { accessFor } from './auth/viewer.js';
import type { Config } from './config.js';
import type { GraphQLContext } from './context.js';
import type { Services } from './domain.js';
import { DomainError } from './errors.js';
import { EVERY_EVENT_SUBSCRIPTION, GRAPHIQL_TABS, GRAPHIQL_TITLE } from './graphiql-tabs.js';
import { idempotencyPlugin } from './idempotency/idempotency-plugin.js';
import { createMaskError } from './mask-error.js';
import type { Metrics } from './observability/metrics.js';
import { operationMetricsPlugin } from './observability/operation-metrics.js';
import { requestErrorCodesPlugin } from './request-errors.js';
import { createEventsSchema } from './schema.js';
import type { ConnectionLimiter } from './transport/limiters.js';
import { createRateLimiter } from './transport/limiters.js';
import { responseLimitPlugins } from './transport/response-limits.js';
import { documentLimitPlugins, mutationRateLimitPlugin } from './transport/security-plugins.js';

export const GRAPHQL_PATH = '/graphql';

export interface GraphQLServer {
  schema: GraphQLSchema;
  /** Every transport executes through yoga's envelop, so limits, masking and metrics apply alike. */
  yoga: YogaServerInstance<object, GraphQLContext>;
}

/**
 * The executable API: the schema, how each operation's context is made (who calls, what
 * they may do, which services they reach), and the plugins every transport shares.
 */
export function createGraphQLServer(options: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  services: Services;
  authenticator: Authenticator;
  connections: ConnectionLimiter;
}): GraphQLServer {
  const { config, logger, metrics, services, authenticator, connections } = options;

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

  /** An SSE stream is a connection of its own: it takes one of its subject's slots. */
  const holdConnection = (viewer: Viewer) => {
    const release = connections.acquire(viewer.subject);
    if (!release) throw new DomainError('RATE_LIMITED', 'this token already holds the most connections allowed');
    return release;
  };

  const schema = createEventsSchema();
  const yoga = createYoga<object, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // A producer may send several mutations in one POST (a JSON array); each is its own
    // operation, with its own idempotency key, and counts against the rate limit on its own.
    batching: { limit: 10 },
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
      requestErrorCodesPlugin(),
      operationMetricsPlugin(metrics),
      ...documentLimitPlugins(config.limits, config.production),
      ...responseLimitPlugins(config.limits, authenticator.enabled ? createRateLimiter(config.limits.queryBytesPerSecond) : undefined),
      ...(authenticator.enabled ? [mutationRateLimitPlugin(createRateLimiter(config.limits.mutationsPerSecond))] : []),
      idempotencyPlugin({ windowMs: config.producing.idempotencyWindowMs }),
    ],
    maskedErrors: { maskError: createMaskError(logger, metrics), isDev: !config.production },
    graphiql: config.graphiql
      ? { subscriptionsProtocol: 'WS', title: GRAPHIQL_TITLE, defaultTabs: GRAPHIQL_TABS, defaultQuery: EVERY_EVENT_SUBSCRIPTION }
      : false,
    // GraphiQL's scripts and styles inlined in the page: yoga's default loads them from a CDN,
    // which leaves GraphiQL blank on a machine without internet.
    renderGraphiQL,
    landingPage: false,
    // The HTTP front answers preflights and sets CORS headers by the one origin policy
    // (transport/http/origin-policy.ts); yoga's own would allow any origin, with credentials.
    cors: false,
    // Unexpected errors are logged where they are masked; expected ones are answers, not faults.
    logging: false,
  });
  return { schema, yoga };
}
