import { GraphQLError } from 'graphql';
import { maskError as maskUnexpectedError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError } from './errors.js';

/**
 * Expected failures keep their message and gain `extensions.code` (and `field` when an
 * argument is at fault); anything else is logged and masked by yoga's default.
 */
export function createMaskError(logger: Logger) {
  return function maskError(error: unknown, message: string, isDev?: boolean): Error {
    const original = error instanceof GraphQLError ? error.originalError : error;
    if (original instanceof DomainError) {
      const located = error instanceof GraphQLError ? error : undefined;
      return new GraphQLError(original.message, {
        nodes: located?.nodes,
        source: located?.source,
        positions: located?.positions,
        path: located?.path,
        extensions: original.field ? { code: original.code, field: original.field } : { code: original.code },
      });
    }
    if (!(error instanceof GraphQLError) || error.originalError) {
      logger.error({ err: original }, 'unexpected error while executing an operation');
    }
    return maskUnexpectedError(error, message, isDev);
  };
}
