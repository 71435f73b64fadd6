import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { maskError as maskUnexpectedError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError, isGraphQLError } from './errors.js';
import type { Metrics } from './observability/metrics.js';

/**
 * Expected failures keep their message and gain `extensions.code` (and `field` when an
 * argument is at fault, and whatever extensions the error carries). Anything else is masked by yoga's default. Whatever is logged (an
 * unexpected error, or the cause behind an expected one) is logged with a `requestId` that the
 * client gets too, as `extensions.requestId`, so an operator can find the detail.
 */
export function createMaskError(logger: Logger, metrics: Metrics) {
  return function maskError(error: unknown, message: string, isDev?: boolean): Error {
    const masked = mask(error, message, isDev);
    metrics.operationErrors.inc({ code: String((masked as GraphQLError).extensions?.code ?? 'INTERNAL_SERVER_ERROR') });
    return masked;
  };

  function mask(error: unknown, message: string, isDev?: boolean): Error {
    // Subscribe-phase errors can arrive wrapped twice (located by the executor, then by envelop).
    let original: unknown = error;
    while (isGraphQLError(original) && original.originalError) original = original.originalError;
    const located = isGraphQLError(error) ? error : undefined;
    if (original instanceof DomainError) {
      const { code, field } = original;
      const cause = (original as { cause?: unknown }).cause;
      let requestId: string | undefined;
      // An error with a cause (an ioredis error behind SERVICE_UNAVAILABLE, say) says only
      // what the client can act on; the cause is for operators, in the log under requestId.
      if (cause !== undefined) {
        requestId = randomUUID();
        logger.warn({ err: cause, requestId, code, detail: original.message }, 'operation failed');
      }
      const carried = (original as { extensions?: Record<string, unknown> }).extensions;
      return new GraphQLError(original.message, {
        nodes: located?.nodes,
        source: located?.source,
        positions: located?.positions,
        path: located?.path,
        extensions: { ...carried, code, ...(field ? { field } : {}), ...(requestId ? { requestId } : {}) },
      });
    }
    if (isGraphQLError(original)) return maskUnexpectedError(error, message, isDev);
    const requestId = randomUUID();
    logger.error({ err: original, requestId }, 'unexpected error while executing an operation');
    const masked = maskUnexpectedError(error, message, isDev) as GraphQLError;
    return new GraphQLError(masked.message, {
      nodes: masked.nodes,
      source: masked.source,
      positions: masked.positions,
      path: masked.path,
      extensions: { ...masked.extensions, requestId },
    });
  }
}
