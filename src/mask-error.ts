import { GraphQLError } from 'graphql';
import { maskError as maskUnexpectedError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError, isGraphQLError } from './errors.js';
import type { Metrics } from './observability/metrics.js';

/**
 * Expected failures keep their message and gain `extensions.code` (and `field` when an
 * argument is at fault); anything else is logged and masked by yoga's default.
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
    if (original instanceof DomainError) {
      // The infrastructure's own words (an ioredis error, say) are for operators, not clients.
      if (original.cause !== undefined) logger.warn({ err: original.cause, code: original.code }, original.message);
      const located = isGraphQLError(error) ? error : undefined;
      return new GraphQLError(original.message, {
        nodes: located?.nodes,
        source: located?.source,
        positions: located?.positions,
        path: located?.path,
        extensions: { code: original.code, ...(original.field ? { field: original.field } : {}), ...original.extensions },
      });
    }
    if (!isGraphQLError(original)) {
      logger.error({ err: original }, 'unexpected error while executing an operation');
    }
    return maskUnexpectedError(error, message, isDev);
  }
}
