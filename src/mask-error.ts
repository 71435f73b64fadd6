import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { maskError as maskUnexpectedError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { DomainError, isGraphQLError } from './errors.js';
import type { Metrics } from './observability/metrics.js';

/**
 * What clients are told for codes whose cause lies in the infrastructure, whatever the error
 * says: the driver's or the network's words are for the log, never for the client.
 */
const FIXED_MESSAGES: Readonly<Record<string, string>> = {
  SERVICE_UNAVAILABLE: 'the event store cannot be reached, so nothing was confirmed; retry later',
};

/**
 * Expected failures keep their message (or, for an infrastructure code, a fixed one) and gain
 * `extensions.code` (and `field` when an argument is at fault, and whatever extensions the
 * error carries). Anything else is masked by yoga's default. Whatever is logged (an
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
      const fixed = FIXED_MESSAGES[code];
      let requestId: string | undefined;
      if (cause !== undefined || fixed !== undefined) {
        requestId = randomUUID();
        logger.warn({ err: cause ?? original, requestId, code, detail: original.message }, 'operation failed');
      }
      const carried = (original as { extensions?: Record<string, unknown> }).extensions;
      return new GraphQLError(fixed ?? original.message, {
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
