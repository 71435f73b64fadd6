import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DocumentNode, ExecutionArgs, ExecutionResult } from 'graphql';
import { getOperationAST } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Viewer } from '../../auth/viewer.js';
import type { GraphQLContext } from '../../context.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AudienceMember, Audiences } from '../../fanout/audiences.js';
import { SSE_COMPLETE, SSE_HEADERS, SSE_KEEP_ALIVE, SSE_KEEP_ALIVE_MS, sseNextEvent, stringifyResult } from '../../fanout/frames.js';
import type { SubscribePayload } from '../../fanout/shared-subscriptions.js';
import { planShare, sharedExecution } from '../../fanout/shared-subscriptions.js';

export interface SharedSseOptions {
  yoga: YogaServerInstance<object, GraphQLContext>;
  audiences: Audiences;
  authenticator: Authenticator;
  /** Takes one of the subject's connection slots; undefined when it holds the most allowed. */
  acquireConnection(viewer: Viewer): (() => void) | undefined;
  metrics: Metrics;
  logger: Logger;
}

export interface SharedSse {
  /**
   * Serves a GraphQL-over-SSE request (distinct-connections mode) when it is a subscription
   * that can share an audience, and answers false otherwise, so yoga serves it: queries,
   * refused tokens, documents with errors, a subject out of connection slots. `body` is the
   * request body, already read.
   */
  serve(request: IncomingMessage, response: ServerResponse, body: Buffer): Promise<boolean>;
  /** Ends every shared stream (each gets `complete`), as the server drains. */
  endAll(): void;
}

function parsePayload(body: Buffer): SubscribePayload | undefined {
  try {
    const payload = JSON.parse(body.toString('utf8')) as Partial<SubscribePayload> | null;
    if (typeof payload?.query !== 'string') return undefined;
    if (payload.variables != null && (typeof payload.variables !== 'object' || Array.isArray(payload.variables))) return undefined;
    if (payload.operationName != null && typeof payload.operationName !== 'string') return undefined;
    return payload as SubscribePayload;
  } catch {
    return undefined;
  }
}

/**
 * Shared subscriptions over SSE: each stream joins the same audiences as WebSocket
 * subscribers, so an event is executed and serialised once per audience and each stream
 * only writes the encoded bytes. Everything else stays with yoga, which answers it exactly as
 * before; the frames written here are the ones yoga writes.
 */
export function createSharedSse(options: SharedSseOptions): SharedSse {
  const { yoga, audiences, authenticator, metrics, logger } = options;
  const open = new Set<AsyncIterableIterator<never>>();

  return {
    async serve(request, response, body) {
      const payload = parsePayload(body);
      if (!payload) return false;
      let viewer: Viewer;
      try {
        viewer = await authenticator.authenticate(request.headers.authorization);
      } catch {
        return false;
      }
      // The same envelop as every other path: document limits, masking and metrics apply.
      const { schema, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ req: request, params: payload, viewer });
      let document: DocumentNode;
      try {
        document = parse(payload.query);
        if (validate(schema, document).length) return false;
      } catch {
        return false;
      }
      const operation = getOperationAST(document, payload.operationName);
      const plan = operation && planShare(schema, document, operation, payload, viewer);
      if (!plan) return false;
      const release = options.acquireConnection(viewer);
      if (!release) return false;

      const contextValue = (await contextFactory()) as GraphQLContext;
      response.writeHead(200, SSE_HEADERS);
      response.write(SSE_KEEP_ALIVE);
      let cutOff = false;
      const member: AudienceMember = {
        field: plan.field,
        send: (shared) => response.write(shared.sseFrame),
        sendOwn: (payload) => new Promise((resolve) => response.write(payload.sseFrame, () => resolve())),
        backlog: () => response.writableLength,
        isOpen: () => !response.destroyed && !response.writableEnded,
        cutOff: () => {
          cutOff = true;
          metrics.slowConsumers.inc({ transport: 'sse' });
        },
      };
      const keepAlive = setInterval(() => response.write(SSE_KEEP_ALIVE), SSE_KEEP_ALIVE_MS);
      let handle: AsyncIterableIterator<never> | undefined;
      const finish = (result?: ExecutionResult) => {
        clearInterval(keepAlive);
        clearTimeout(expiry);
        release();
        if (handle) open.delete(handle);
        // A slow consumer's unread bytes are dropped with its connection, which the client
        // sees as a network error and resumes from its last cursor.
        if (cutOff) response.destroy();
        if (!member.isOpen()) return;
        if (result) response.write(sseNextEvent(stringifyResult(result)));
        response.end(SSE_COMPLETE);
      };
      // A stream lives no longer than the token that opened it; the client reconnects with a fresh one.
      const expiry =
        viewer.expiresAt === undefined ? undefined : setTimeout(() => void handle?.return?.(), Math.max(0, viewer.expiresAt - Date.now()));
      response.once('close', () => void handle?.return?.());

      let joined: AsyncIterableIterator<never> | ExecutionResult;
      try {
        const args = { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
        joined = await audiences.join({
          key: plan.key,
          member,
          ...sharedExecution(plan, args as ExecutionArgs & { contextValue: GraphQLContext }, subscribe),
        });
      } catch (error) {
        logger.error({ err: error }, 'shared SSE subscription failed');
        finish();
        return true;
      }
      if (!(Symbol.asyncIterator in joined)) {
        finish(joined);
        return true;
      }
      handle = joined;
      open.add(handle);
      if (!member.isOpen()) void handle.return?.();
      // The membership yields nothing: it ends when the audience, the client, the token, a
      // drain or the outgoing budget ends it.
      void (async () => {
        for await (const _ of joined);
        finish();
      })();
      return true;
    },
    endAll() {
      for (const handle of [...open]) void handle.return?.();
    },
  };
}
