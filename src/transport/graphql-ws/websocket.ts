import type { DocumentNode, ExecutionArgs, ExecutionResult } from 'graphql';
import { GraphQLError, getOperationAST, parse as parseDocument } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Context, SubscribePayload } from 'graphql-ws';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { Authenticator } from '../../auth/authenticator.js';
import { AuthenticationError } from '../../auth/authenticator.js';
import type { Viewer } from '../../auth/viewer.js';
import type { Limits } from '../../config.js';
import type { GraphQLContext } from '../../context.js';
import { isGraphQLError } from '../../errors.js';
import { createMaskError } from '../../mask-error.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AudienceMember, Audiences } from '../../fanout/audiences.js';
import { graphqlWsNextFrames, withoutHttpHints } from '../../fanout/frames.js';
import { planShare, sharedExecution } from '../../fanout/shared-subscriptions.js';
import { CloseCode } from '../close-codes.js';
import type { FairTurns } from '../fair-turns.js';
import { createFairTurns } from '../fair-turns.js';
import type { ConnectionLimiter, RateLimiter } from '../limiters.js';
import type { OriginPolicy } from '../http/origin-policy.js';
import type { UpgradeRoute } from '../http/upgrades.js';
import { logConnection } from '../connection-log.js';
import type { Extra } from './serve-sockets.js';
import { serveSockets } from './serve-sockets.js';

/** How long a slow consumer's close handshake may take before its connection is cut. */
const SLOW_CLOSE_GRACE_MS = 2000;

/**
 * Subscribe messages whose work starts in one turn of the event loop, over all connections.
 * Each costs at most a parse, a validation and a plan (a few hundred microseconds): 8 keep a
 * turn near a couple of milliseconds (with 16, the victim of `npm run bench:hostile`'s
 * subscription flood waited up to 16 ms, with 8 at most 11), and a single client's
 * subscribe never waits.
 */
const SUBSCRIBES_PER_TURN = 8;

/**
 * Refusals in a row (no operation accepted between) after which a connection is closed with
 * 4421: a client that honours `RATE_LIMITED` stops long before, one that keeps sending is
 * flooding, and answering each of thousands of messages would cost more than the refusal.
 */
export const REFUSALS_BEFORE_CLOSE = 20;

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

/**
 * Whether a document's operation is a subscription, from a bare parse: a subject at its
 * subscription limit is refused before the envelop, validation and planning, the dearer
 * steps, so thousands of distinct documents cost a parse each. Documents that do not parse
 * are left to the envelop to answer. The answer is kept for the documents seen last, since a
 * producer sends the same few mutations on every change.
 */
function isSubscription(query: string, operationName: string | null | undefined): boolean {
  const kept = query.length <= OPERATION_KIND_MAX_LENGTH;
  // Names cannot hold '#': the key splits unambiguously at its first one.
  const key = kept ? `${operationName ?? ''}#${query}` : '';
  let answer = kept ? operationKinds.get(key) : undefined;
  if (answer === undefined) {
    try {
      answer = getOperationAST(parseDocument(query, { noLocation: true }), operationName)?.operation === 'subscription';
    } catch {
      answer = false;
    }
    if (kept) {
      operationKinds.set(key, answer);
      if (operationKinds.size > OPERATION_KINDS_KEPT) operationKinds.delete(operationKinds.keys().next().value!);
    }
  }
  return answer;
}
/** Documents whose kind `isSubscription` keeps, the oldest going first, and the longest kept: at most a few MiB. */
const OPERATION_KINDS_KEPT = 1000;
const OPERATION_KIND_MAX_LENGTH = 4096;
const operationKinds = new Map<string, boolean>();

interface EnvelopedRoot {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
  /** The subscription has started (or failed to): it no longer counts as starting. */
  settle?: () => void;
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
  /** Closes the socket as a slow consumer (4413). */
  onSlowConsumer(): void;
  release(): void;
  expiry?: NodeJS.Timeout;
  /** Operations refused by a limit since the last one accepted. */
  refusedInARow: number;
  /** Closed for refusals in a row: what it sent meanwhile is dropped unanswered. */
  flooded: boolean;
}

/**
 * graphql-ws answers an operation only while it holds its id; without it (as after the
 * client's own `complete`) it sends nothing. What it is handed back then is never sent.
 */
const UNANSWERED = [new GraphQLError('the connection is closing')];


export interface WebSocketTransportOptions {
  path: string;
  fanout: 'shared' | 'per-subscriber';
  /** Where shared subscriptions join; SSE streams join the same audiences. */
  audiences: Audiences;
  /** Whether a token subject holds the most subscriptions allowed, with `starting` more on their way. */
  atSubscriptionLimit(subject: string, starting: number): boolean;
  /** Whether a token subject replays the most resumes allowed: one more is refused before it executes. */
  atReplayLimit(subject: string): boolean;
  /** Subscriptions started per subject; unset without authentication. */
  subscriptionStarts?: RateLimiter;
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
  const maskError = createMaskError(logger, metrics);
  const webSocketServer = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    // `ws` passes `info.origin` as '' or undefined when the client sent none (not a browser page).
    verifyClient: (info, accept) => (options.origins.allows(info.origin || undefined) ? accept(true) : accept(false, 403, 'Origin not allowed')),
  });
  const connectionOf = new WeakMap<object, Connection>();
  const { audiences } = options;
  const subjectOf = new WeakMap<WebSocket, string>();
  /** Subscriptions per subject that passed the limit check and have not yet joined or failed. */
  const startingSubscriptions = new Map<string, number>();
  const turns: FairTurns = createFairTurns(SUBSCRIBES_PER_TURN);

  // Refusals are built once: a flood of them costs a lookup each, not an error with its stack.
  const refusal = (message: string, extensions: Record<string, unknown> = {}) => [
    new GraphQLError(message, { extensions: { code: 'RATE_LIMITED', ...extensions } }),
  ];
  const operationsPerConnection = refusal(`at most ${limits.maxSubscriptionsPerConnection} operations per connection`);
  const subscriptionsPerSubject = refusal('this token already holds the most subscriptions allowed; end one before starting another');
  const replaysPerSubject = refusal(
    `this token already replays ${limits.maxReplaysPerSubject} resumed subscriptions; resume this one once one of them has caught up`,
  );
  const startsRefusals = new Map<number, GraphQLError[]>();
  const tooManyStarts = (retryAfter: number) => {
    let errors = startsRefusals.get(retryAfter);
    if (!errors) {
      errors = refusal(
        `too many subscriptions started by this token: at most ${limits.subscriptionsPerSecond} a second; retry after ${retryAfter} s`,
        { retryAfter },
      );
      startsRefusals.set(retryAfter, errors);
    }
    return errors;
  };

  /** Counts a refusal against the connection; the one that makes too many in a row closes it instead. */
  function refuse(context: Context<Record<string, unknown> | undefined, Extra>, connection: Connection, id: string, errors: GraphQLError[]) {
    connection.refusedInARow++;
    if (connection.refusedInARow < REFUSALS_BEFORE_CLOSE) return errors;
    connection.flooded = true;
    (context.extra.socket as WebSocket).close(CloseCode.RateLimited, 'Too many refused operations');
    // What the connection sent meanwhile waits for nothing more: it sees the close and is dropped.
    turns.release(context);
    return unanswered(context, id);
  }

  function unanswered(context: Context<Record<string, unknown> | undefined, Extra>, id: string) {
    delete (context.subscriptions as Record<string, unknown>)[id];
    return UNANSWERED;
  }

  // One log line when a connection opens and one when it closes, with why.
  webSocketServer.on('connection', (socket, request) => {
    const connection = logConnection(metrics, logger, 'ws', request);
    socket.once('close', (code, reason) => connection.closed({ code, reason: String(reason), subject: subjectOf.get(socket) }));
    // A frame over the size limit or a broken frame: ws closes the socket itself (1009, 1002),
    // so it is the log's, as a client's fault.
    socket.on('error', (error) => logger.info({ connectionId: connection.id, reason: error.message }, 'websocket protocol error'));
  });

  /** The execution arguments of an operation on a socket, or the errors that refuse it. */
  async function prepare(
    context: Context<Record<string, unknown> | undefined, Extra>,
    id: string,
    payload: SubscribePayload,
    settle: (() => void) | undefined,
  ) {
    const connection = connectionOf.get(context)!;
    const socket = context.extra.socket as WebSocket;
    // What the context and the plugins read: not graphql-ws's own context, whose copy per
    // operation was a tenth of this function's time.
    const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
      req: context.extra.request,
      socket,
      params: payload,
      viewer: connection.viewer,
      onSlowConsumer: connection.onSlowConsumer,
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
    // Its replay would be refused once it ran: refused here, before the context, the join and the execution.
    if (plan?.after !== undefined && options.atReplayLimit(connection.viewer.subject)) return refuse(context, connection, id, replaysPerSubject);
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
        settle,
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
  }

  const graphqlWs = serveSockets(
    {
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: async (args) => {
        const root = args.rootValue as EnvelopedRoot;
        try {
          return (await (root.join ? root.join(args) : root.subscribe(args))) as never;
        } catch (error) {
          // Thrown out of here, graphql-ws would print it to stderr and close the whole socket.
          logger.error({ err: error }, 'subscription failed to start');
          return { errors: [new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] } as never;
        } finally {
          root.settle?.();
        }
      },
      onConnect: async (context) => {
        const socket = context.extra.socket as WebSocket;
        // graphql-ws has checked that the payload is an object (4400 otherwise); what it holds is ours to check.
        const authorization = context.connectionParams?.authorization;
        if (authorization != null && typeof authorization !== 'string') {
          logger.info({ reason: `authorization is ${Array.isArray(authorization) ? 'an array' : `a ${typeof authorization}`}` }, 'websocket refused: authentication');
          return false;
        }
        let viewer: Viewer;
        try {
          viewer = await authenticator.authenticate(authorization);
        } catch (error) {
          if (!(error instanceof AuthenticationError)) {
            logger.error({ err: error }, 'websocket refused: the token could not be checked');
            socket.close(CloseCode.InternalServerError, 'Internal server error');
            return false;
          }
          logger.info({ reason: error.message }, 'websocket refused: authentication');
          return false;
        }
        const release = connections.acquire(viewer.subject);
        if (!release) {
          socket.close(CloseCode.TooManyConnections, 'Too many connections for this token');
          return false;
        }
        const connection: Connection = { viewer, onSlowConsumer: () => closeSlowConsumer(socket, metrics), release, refusedInARow: 0, flooded: false };
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
        turns.release(context);
        const connection = connectionOf.get(context);
        if (!connection) return;
        clearTimeout(connection.expiry);
        connection.release();
        connectionOf.delete(context);
      },
      onSubscribe: async (context, id, payload) => {
        const connection = connectionOf.get(context);
        if (!connection || connection.flooded) return unanswered(context, id);
        // A burst of messages is answered over several turns, the connections taking turns.
        const turn = turns.take(context);
        if (turn) {
          await turn;
          if (connection.flooded || connectionOf.get(context) !== connection) return unanswered(context, id);
        }
        if (Object.keys(context.subscriptions).length > limits.maxSubscriptionsPerConnection) {
          return refuse(context, connection, id, operationsPerConnection);
        }
        // A subscription takes its subject's slot only once it has joined, several awaits
        // later: until then it counts as starting, so a burst of thousands is refused here,
        // each for the cost of a parse, instead of all passing this check at once.
        const { subject } = connection.viewer;
        if (!isSubscription(payload.query, payload.operationName)) {
          connection.refusedInARow = 0;
          return prepare(context, id, payload, undefined);
        }
        const starts = options.subscriptionStarts?.take(subject);
        if (starts && !starts.allowed) return refuse(context, connection, id, tooManyStarts(starts.retryAfterSeconds));
        const starting = startingSubscriptions.get(subject) ?? 0;
        if (options.atSubscriptionLimit(subject, starting)) return refuse(context, connection, id, subscriptionsPerSubject);
        connection.refusedInARow = 0;
        startingSubscriptions.set(subject, starting + 1);
        let settled = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          const remaining = startingSubscriptions.get(subject)! - 1;
          if (remaining === 0) startingSubscriptions.delete(subject);
          else startingSubscriptions.set(subject, remaining);
        };
        try {
          const prepared = await prepare(context, id, payload, settle);
          if (Array.isArray(prepared)) settle();
          return prepared;
        } catch (error) {
          settle();
          throw error;
        }
      },

      onNext: (context, _id, _payload, _args, result) => {
        // The outgoing budget: a client that stops reading is dropped before its backlog grows.
        const socket = context.extra.socket as WebSocket;
        if (socket.bufferedAmount > limits.outgoingBufferBytes) closeSlowConsumer(socket, metrics);
        if (result.errors) return { ...result, errors: result.errors.map(withoutHttpHints) };
      },
      // graphql-ws turns an error thrown by a running subscription into an error message with
      // its raw text: masked here like every other error, and logged under its requestId.
      onError: (_context, _id, _payload, errors) =>
        errors.map((error) => withoutHttpHints((maskError(error, 'Unexpected error.', false) as GraphQLError).toJSON())),
    },
    webSocketServer,
    logger,
  );
  return {
    matches: (path) => path === options.path,
    handleUpgrade(request, socket, head) {
      webSocketServer.handleUpgrade(request, socket, head, (client) => {
        graphqlWs.adopt(client, socket);
        webSocketServer.emit('connection', client, request);
      });
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
