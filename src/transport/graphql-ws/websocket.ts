import type { DocumentNode, ExecutionArgs, ExecutionResult } from 'graphql';
import { GraphQLError, getOperationAST } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { Authenticator } from '../../auth/authenticator.js';
import { AuthenticationError } from '../../auth/authenticator.js';
import type { Viewer } from '../../auth/viewer.js';
import type { Limits } from '../../config.js';
import type { GraphQLContext } from '../../context.js';
import { isGraphQLError } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AudienceMember, Audiences } from '../../fanout/audiences.js';
import { graphqlWsNextFrames, withoutHttpHints } from '../../fanout/frames.js';
import { planShare, sharedExecution } from '../../fanout/shared-subscriptions.js';
import { CloseCode } from '../close-codes.js';
import type { ConnectionLimiter } from '../limiters.js';
import type { OriginPolicy } from '../http/origin-policy.js';
import type { UpgradeRoute } from '../http/upgrades.js';
import { logConnection } from '../connection-log.js';

/** How long a slow consumer's close handshake may take before its connection is cut. */
const SLOW_CLOSE_GRACE_MS = 2000;

/**
 * The close frame queues behind everything the client has not read, so a client that has
 * stopped reading may never receive it: the TCP connection is cut if the handshake does not
 * finish within the grace period. A client that reads again sees 4413.
 * @param transport the metrics label @default "ws"
 */
export function closeSlowConsumer(socket: WebSocket, metrics: Metrics, transport = 'ws'): void {
  if (socket.readyState !== socket.OPEN) return;
  metrics.slowConsumers.inc({ transport });
  socket.close(CloseCode.SlowConsumer, 'Slow consumer');
  const cut = setTimeout(() => socket.terminate(), SLOW_CLOSE_GRACE_MS);
  socket.once('close', () => clearTimeout(cut));
}

interface EnvelopedRoot {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
  /** Set when the operation joins a shared audience instead of executing on its own. */
  join?: (args: ExecutionArgs) => Promise<AsyncIterableIterator<never> | ExecutionResult>;
}

/** A subscription on a socket, as a member of a shared audience. */
function webSocketMember(socket: WebSocket, id: string, field: string, metrics: Metrics): AudienceMember {
  const frame = graphqlWsNextFrames(id);
  return {
    field,
    send: (payload) => socket.send(frame.bytes(payload.jsonBytes), { binary: false }),
    sendOwn: (payload) => new Promise((resolve) => socket.send(frame.bytes(payload.jsonBytes), { binary: false }, () => resolve())),
    backlog: () => socket.bufferedAmount,
    isOpen: () => socket.readyState === socket.OPEN,
    cutOff: () => closeSlowConsumer(socket, metrics),
  };
}

/** What a connection holds once its connection_init was accepted. */
interface Connection {
  viewer: Viewer;
  release(): void;
  expiry?: NodeJS.Timeout;
}

export interface WebSocketTransportOptions {
  path: string;
  fanout: 'shared' | 'per-subscriber';
  /** Where shared subscriptions join; SSE streams join the same audiences. */
  audiences: Audiences;
  metrics: Metrics;
  authenticator: Authenticator;
  connections: ConnectionLimiter;
  limits: Limits;
  /** Which browser pages may connect; another Origin's upgrade is refused with 403. */
  origins: OriginPolicy;
  logger: Logger;
}

/**
 * GraphQL over WebSocket (`graphql-transport-ws`) on `path`, executed through yoga's
 * envelop so that error masking, document limits and every other yoga plugin apply as they
 * do over HTTP. Authentication happens once, in connection_init. The HTTP server hands it
 * the upgrades to `path` (see `routeUpgrades`).
 *
 * @returns the route for upgrades, and the teardown: closes every socket (1001 Going away) and the server
 */
export function createWebSocketTransport(
  yoga: YogaServerInstance<object, GraphQLContext>,
  options: WebSocketTransportOptions,
): UpgradeRoute & {
  dispose(): Promise<void>;
  clientCount(): number;
  audiences: Audiences;
  closeAll(code: number, reason: string): void;
} {
  const { authenticator, connections, limits, logger, metrics } = options;
  const webSocketServer = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    // `ws` passes `info.origin` as '' or undefined when the client sent none (not a browser page).
    verifyClient: (info, accept) => (options.origins.allows(info.origin || undefined) ? accept(true) : accept(false, 403, 'Origin not allowed')),
  });
  const connectionOf = new WeakMap<object, Connection>();
  const { audiences } = options;
  const subjectOf = new WeakMap<WebSocket, string>();

  // One log line when a connection opens and one when it closes, with why.
  webSocketServer.on('connection', (socket, request) => {
    const connection = logConnection(metrics, logger, 'ws', request);
    socket.once('close', (code, reason) => connection.closed({ code, reason: String(reason), subject: subjectOf.get(socket) }));
  });

  const graphqlWs = useServer(
    {
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => {
        const root = args.rootValue as EnvelopedRoot;
        return (root.join ? root.join(args) : root.subscribe(args)) as never;
      },
      onConnect: async (context) => {
        const socket = context.extra.socket as WebSocket;
        let viewer: Viewer;
        try {
          viewer = await authenticator.authenticate(context.connectionParams?.authorization as string | undefined);
        } catch (error) {
          if (!(error instanceof AuthenticationError)) throw error;
          logger.info({ reason: error.message }, 'websocket refused: authentication');
          return false;
        }
        const release = connections.acquire(viewer.subject);
        if (!release) {
          socket.close(CloseCode.TooManyConnections, 'Too many connections for this token');
          return false;
        }
        const connection: Connection = { viewer, release };
        subjectOf.set(socket, viewer.subject);
        if (viewer.expiresAt !== undefined) {
          connection.expiry = setTimeout(
            () => socket.close(CloseCode.Forbidden, 'Token expired'),
            Math.max(0, viewer.expiresAt - Date.now()),
          );
        }
        connectionOf.set(context, connection);
        return true;
      },
      onClose: (context) => {
        const connection = connectionOf.get(context);
        if (!connection) return;
        clearTimeout(connection.expiry);
        connection.release();
        connectionOf.delete(context);
      },
      onSubscribe: async (context, id, payload) => {
        const connection = connectionOf.get(context)!;
        const socket = context.extra.socket as WebSocket;
        if (Object.keys(context.subscriptions).length > limits.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`at most ${limits.maxSubscriptionsPerConnection} operations per connection`, {
              extensions: { code: 'RATE_LIMITED' },
            }),
          ];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...context,
          req: context.extra.request,
          socket,
          params: payload,
          viewer: connection.viewer,
          onSlowConsumer: () => closeSlowConsumer(socket, metrics),
        });
        let document: DocumentNode;
        let errors: readonly GraphQLError[];
        try {
          document = parse(payload.query);
          errors = validate(schema, document);
        } catch (error) {
          // A syntax error, or a document over a limit (some limits throw instead of reporting),
          // is the client's: answer it as an error message and keep the socket.
          if (isGraphQLError(error)) return [error];
          throw error;
        }
        if (errors.length) return errors;
        const operation = getOperationAST(document, payload.operationName);
        const plan =
          options.fanout === 'shared' && operation ? planShare(schema, document, operation, payload, connection.viewer) : undefined;
        const contextValue = (await contextFactory()) as GraphQLContext;
        const member = plan && webSocketMember(socket, id, plan.field, metrics);
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: {
            execute,
            subscribe,
            join:
              plan &&
              ((args) =>
                audiences.join({
                  key: plan.key,
                  member: member!,
                  ...sharedExecution(plan, args as ExecutionArgs & { contextValue: GraphQLContext }, subscribe),
                })),
          } satisfies EnvelopedRoot,
        };
      },
      onNext: (context, _id, _payload, _args, result) => {
        // The outgoing budget: a client that stops reading is dropped before its backlog grows.
        const socket = context.extra.socket as WebSocket;
        if (socket.bufferedAmount > limits.outgoingBufferBytes) closeSlowConsumer(socket, metrics);
        if (result.errors) return { ...result, errors: result.errors.map(withoutHttpHints) };
      },
      onError: (_context, _id, _payload, errors) => errors.map(withoutHttpHints),
    },
    webSocketServer,
  );
  return {
    matches: (path) => path === options.path,
    handleUpgrade(request, socket, head) {
      webSocketServer.handleUpgrade(request, socket, head, (client) => webSocketServer.emit('connection', client, request));
    },
    async dispose() {
      await graphqlWs.dispose();
      await new Promise<void>((resolve) => webSocketServer.close(() => resolve()));
    },
    clientCount: () => webSocketServer.clients.size,
    audiences,
    closeAll(code, reason) {
      for (const client of webSocketServer.clients) client.close(code, reason);
    },
  };
}
