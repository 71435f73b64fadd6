import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { DocumentNode, ExecutionArgs, GraphQLFormattedError, OperationDefinitionNode } from 'graphql';
import { GraphQLError, Kind, getOperationAST } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import { AuthenticationError } from '../auth/authenticator.js';
import type { Viewer } from '../auth/viewer.js';
import type { Limits } from '../config.js';
import type { GraphQLContext } from '../context.js';
import { isGraphQLError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { createAudiences } from './audiences.js';
import { CloseCode } from './close-codes.js';
import type { ConnectionLimiter } from './limiters.js';

/** How long a slow consumer's close handshake may take before its connection is cut. */
const SLOW_CLOSE_GRACE_MS = 2000;

/**
 * The close frame queues behind everything the client has not read, so a client that has
 * stopped reading may never receive it: the TCP connection is cut if the handshake does not
 * finish within the grace period. A client that reads again sees 4413.
 */
function closeSlowConsumer(socket: WebSocket, metrics: Metrics): void {
  if (socket.readyState !== socket.OPEN) return;
  metrics.slowConsumers.inc({ transport: 'ws' });
  socket.close(CloseCode.SlowConsumer, 'Slow consumer');
  const cut = setTimeout(() => socket.terminate(), SLOW_CLOSE_GRACE_MS);
  socket.once('close', () => clearTimeout(cut));
}

/** `extensions.http` tells yoga which HTTP status to answer with; over HTTP yoga removes it, here we do. */
function withoutHttpHints(error: GraphQLFormattedError): GraphQLFormattedError {
  if (!error.extensions || !('http' in error.extensions)) return error;
  const { http: _http, ...extensions } = error.extensions;
  return { ...error, extensions };
}

interface EnvelopedRoot {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
  /** Set when the operation joins a shared audience instead of executing on its own. */
  audience?: { key: string; socket: WebSocket; id: string; field: string };
}

/** Whether the operation resumes from a cursor: replays are per subscriber, never shared. */
function resumes(operation: OperationDefinitionNode, variables: Record<string, unknown> | null | undefined): boolean {
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return true;
    for (const argument of selection.arguments ?? []) {
      if (argument.name.value !== 'after' || argument.value.kind === Kind.NULL) continue;
      if (argument.value.kind !== Kind.VARIABLE || variables?.[argument.value.name.value] != null) return true;
    }
  }
  return false;
}

function rootField(operation: OperationDefinitionNode): string {
  const [selection] = operation.selectionSet.selections;
  return selection?.kind === Kind.FIELD ? selection.name.value : 'unknown';
}

/** JSON with sorted keys, so equal variables give equal audience keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Everything a shared result depends on: the operation, its variables and the caller's rights. */
function audienceKey(payload: { query: string; operationName?: string | null; variables?: unknown }, viewer: Viewer): string {
  const projects = viewer.projects === 'all' ? '*' : [...viewer.projects].sort().join(',');
  return `${viewer.canRead}|${projects}|${payload.operationName ?? ''}|${canonical(payload.variables ?? {})}|${payload.query}`;
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
  metrics: Metrics;
  authenticator: Authenticator;
  connections: ConnectionLimiter;
  limits: Limits;
  allowedOrigins?: readonly string[];
  logger: Logger;
}

/**
 * GraphQL over WebSocket (`graphql-transport-ws`) on `path`, executed through yoga's
 * envelop so that error masking, document limits and every other yoga plugin apply as they
 * do over HTTP. Authentication happens once, in connection_init.
 *
 * @returns the teardown: closes every socket (1001 Going away) and the server
 */
export function attachWebSocketTransport(
  httpServer: Server,
  yoga: YogaServerInstance<object, GraphQLContext>,
  options: WebSocketTransportOptions,
): {
  dispose(): Promise<void>;
  clientCount(): number;
  audiences: { count(): number; memberCount(): number };
  closeAll(code: number, reason: string): void;
} {
  const { authenticator, connections, limits, logger, metrics } = options;
  const allowed = options.allowedOrigins ? new Set(options.allowedOrigins) : undefined;
  const webSocketServer = new WebSocketServer({
    server: httpServer,
    path: options.path,
    maxPayload: limits.maxPayloadBytes,
    verifyClient: allowed
      ? (info, accept) => (allowed.has(info.origin) ? accept(true) : accept(false, 403, 'Origin not allowed'))
      : undefined,
  });
  const connectionOf = new WeakMap<object, Connection>();
  const audiences = createAudiences({
    metrics,
    outgoingBufferBytes: limits.outgoingBufferBytes,
    onSlowConsumer: (socket) => closeSlowConsumer(socket, metrics),
    onError: (error) => logger.error({ err: error }, 'shared subscription failed; its members were completed'),
  });
  const subjectOf = new WeakMap<WebSocket, string>();

  // One log line when a connection opens and one when it closes, with why.
  webSocketServer.on('connection', (socket, request) => {
    const connectionId = randomUUID();
    const opened = Date.now();
    metrics.connections.inc({ transport: 'ws' });
    logger.info({ connectionId, transport: 'ws', remote: request.socket.remoteAddress, origin: request.headers.origin }, 'connection opened');
    socket.once('close', (code, reason) => {
      metrics.connections.dec({ transport: 'ws' });
      logger.info(
        { connectionId, transport: 'ws', code, reason: String(reason), subject: subjectOf.get(socket), durationMs: Date.now() - opened },
        'connection closed',
      );
    });
  });

  const graphqlWs = useServer(
    {
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => {
        const root = args.rootValue as EnvelopedRoot;
        if (!root.audience) return root.subscribe(args) as never;
        return audiences.join(root.audience, async () => (await root.subscribe(args)) as never) as never;
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
        const shared = options.fanout === 'shared' && operation?.operation === 'subscription' && !resumes(operation, payload.variables);
        let contextValue: object = await contextFactory();
        if (shared) {
          // The audience outlives any one member: it carries no member's expiry or socket.
          // Expiry and slow consumers are handled per socket instead.
          const viewer = { ...connection.viewer, expiresAt: undefined };
          contextValue = { ...contextValue, viewer, onSlowConsumer: undefined, countedByTransport: true } satisfies Partial<GraphQLContext>;
        }
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: {
            execute,
            subscribe,
            audience: shared ? { key: audienceKey(payload, connection.viewer), socket, id, field: rootField(operation) } : undefined,
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
