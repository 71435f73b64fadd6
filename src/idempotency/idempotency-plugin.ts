import { GraphQLError, getOperationAST, print } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../context.js';
import { DomainError } from '../errors.js';
import type { RequestIdempotency } from './request-idempotency.js';
import { IDEMPOTENCY_HEADER, parseIdempotencyKey, requestFingerprint, subjectTag } from './request-idempotency.js';

/** What yoga's and the WebSocket transport's initial context hold of the request. */
interface RequestParts {
  request?: { headers: { get(name: string): string | null } };
  params?: { query?: string; extensions?: Record<string, unknown> };
}

/**
 * Reads a mutation's idempotency key (the `Idempotency-Key` header over HTTP, or
 * `extensions.idempotencyKey` on any transport) into `context.idempotency`, where each
 * mutation field's resolver takes its own record from. An answer that came from a record
 * says so in `extensions.idempotentReplay`. Queries and subscriptions ignore keys.
 */
export function idempotencyPlugin(options: { windowMs: number }): Plugin<GraphQLContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue as GraphQLContext & RequestParts;
      const header = context.request?.headers.get(IDEMPOTENCY_HEADER);
      const extension = context.params?.extensions?.idempotencyKey;
      if (header == null && extension === undefined) return;
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      let key: string | undefined;
      try {
        key = parseIdempotencyKey(header, extension);
      } catch (error) {
        const { message, code, field } = error as DomainError;
        setResultAndStopExecution({ errors: [new GraphQLError(message, { extensions: { code, field } })] });
        return;
      }
      if (key === undefined) return;
      let fingerprint: string | undefined;
      const idempotency: RequestIdempotency = {
        key,
        subjectTag: subjectTag(context.viewer.subject),
        // Hashed when a record is read or written: streamed text sent with an offset records none.
        get fingerprint() {
          return (fingerprint ??= requestFingerprint(context.params?.query ?? print(args.document), args.operationName, args.variableValues));
        },
        windowMs: options.windowMs,
        replayed: false,
      };
      context.idempotency = idempotency;
      return {
        onExecuteDone({ result, setResult }) {
          if (!idempotency.replayed || Symbol.asyncIterator in result) return;
          setResult({ ...result, extensions: { ...result.extensions, idempotentReplay: true } });
        },
      };
    },
  };
}
