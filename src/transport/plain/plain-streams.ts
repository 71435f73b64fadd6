import type { IncomingMessage } from 'node:http';
import type { ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Authenticator } from '../../auth/authenticator.js';
import { AuthenticationError } from '../../auth/authenticator.js';
import type { Viewer } from '../../auth/viewer.js';
import { readDecision } from '../../auth/viewer.js';
import type { GraphQLContext } from '../../context.js';
import type { AudienceMember, Audiences } from '../../fanout/audiences.js';
import type { ConnectionLimiter } from '../limiters.js';
import type { PlainDocument } from './plain-messages.js';
import { createPlainDocument } from './plain-messages.js';
import type { PlainRoute, PlainStreamRequest } from './plain-routes.js';
import { PlainStreamRefusal, parsePlainStreamRequest } from './plain-routes.js';
import type { OriginPolicy } from '../http/origin-policy.js';
import type { SubscribePayload } from '../../fanout/shared-subscriptions.js';
import { planShare, sharedExecution } from '../../fanout/shared-subscriptions.js';

export interface PlainStreamsOptions {
  schema: GraphQLSchema;
  yoga: YogaServerInstance<object, GraphQLContext>;
  audiences: Audiences;
  authenticator: Authenticator;
  connections: ConnectionLimiter;
  /** Which browser pages may open streams. */
  origins: OriginPolicy;
}

/** A stream that passed every check made before it starts, holding one of its subject's connection slots. */
export interface PlainAdmission {
  request: PlainStreamRequest;
  viewer: Viewer;
  /** Gives the connection slot back; idempotent. */
  release(): void;
}

/** The code of the first error of a result that refused a stream. */
export function refusalCode(result: ExecutionResult): string {
  return String(result.errors?.[0]?.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
}

/**
 * The engine side of the streams for clients without GraphQL, shared by their WebSocket and
 * SSE transports. A stream is a GraphQL subscription on one of the four fields, written as
 * plain JSON messages: it joins a shared audience of the same field, filters and read
 * decision, which executes and serialises each event once for all its members, and it
 * resumes by replaying on its own, then joining, as GraphQL subscriptions do.
 */
export function createPlainStreams(options: PlainStreamsOptions) {
  const { schema, yoga, audiences, authenticator, connections } = options;
  const documents = new Map<PlainRoute['field'], PlainDocument>(
    (['projectEvents', 'ingestJob', 'agentRun', 'workflowNodeState'] as const).map((field) => [field, createPlainDocument(schema, field)]),
  );

  const { origins } = options;

  return {
    origins,

    /**
     * Everything refused before a stream starts, in this order: a disallowed Origin (403), a
     * path that is no stream (404), a malformed cursor, type or id (400), the transport's own
     * refusal (a wrong method or Accept for SSE), a missing or bad
     * token (401), a project the token may not read (403), a subject out of connection slots
     * (429). Throws `PlainStreamRefusal`.
     */
    async admit(
      request: IncomingMessage,
      options: {
        /** Whether the request's Last-Event-ID resumes it (SSE). */
        lastEventId: boolean;
        /** The transport's own refusal of a request for a stream that exists (a wrong method). */
        acceptable?: () => PlainStreamRefusal | undefined;
      },
    ): Promise<PlainAdmission> {
      if (!origins.allows(request.headers.origin)) throw new PlainStreamRefusal(403, 'FORBIDDEN', 'Origin not allowed');
      const parsed = parsePlainStreamRequest(request, options);
      const unacceptable = options.acceptable?.();
      if (unacceptable) throw unacceptable;
      let viewer: Viewer;
      try {
        viewer = await authenticator.authenticate(parsed.authorization);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        throw new PlainStreamRefusal(401, 'UNAUTHENTICATED', error.message, { 'WWW-Authenticate': 'Bearer' });
      }
      const decision = readDecision(viewer, parsed.route.projectId);
      if (decision === 'missing-scope') throw new PlainStreamRefusal(403, 'FORBIDDEN', 'this token lacks the events:read scope');
      if (decision === 'other-project') {
        throw new PlainStreamRefusal(403, 'FORBIDDEN', `this token does not give access to project "${parsed.route.projectId}"`);
      }
      const release = connections.acquire(viewer.subject);
      if (!release) throw new PlainStreamRefusal(429, 'RATE_LIMITED', 'this token already holds the most connections allowed');
      return { request: parsed, viewer, release };
    },

    /**
     * Adds the stream to its audience. Returns what to iterate while the stream lives (it
     * yields nothing and ends with the membership), or the result that refused it, such as
     * CURSOR_EXPIRED for a cursor the log can no longer resume.
     */
    async join(request: IncomingMessage, admission: PlainAdmission, member: AudienceMember): Promise<AsyncIterableIterator<never> | ExecutionResult> {
      const { route, after } = admission.request;
      const plain = documents.get(route.field)!;
      const payload: SubscribePayload = {
        query: plain.query,
        operationName: plain.operation.name!.value,
        variables: { projectId: route.projectId, ...route.filters, ...(after === undefined ? {} : { after }) },
      };
      // Through yoga's envelop, as every GraphQL subscription: masking and plugins apply.
      // The document is this server's own and was validated once, so it skips the limits
      // that guard against clients' documents.
      const { subscribe, contextFactory } = yoga.getEnveloped({ req: request, params: payload, viewer: admission.viewer });
      const plan = planShare(schema, plain.document, plain.operation, payload, admission.viewer);
      if (!plan) throw new Error(`the plain stream document of ${route.field} cannot be shared`);
      const contextValue = (await contextFactory()) as GraphQLContext;
      const args = { schema, document: plain.document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      return audiences.join({
        // Members of a plain audience are written plain messages: never the same audience as a GraphQL one.
        key: `plain\n${plan.key}`,
        member,
        encode: plain.encode,
        ...sharedExecution(plan, args as ExecutionArgs & { contextValue: GraphQLContext }, subscribe),
      });
    },
  };
}

export type PlainStreams = ReturnType<typeof createPlainStreams>;
