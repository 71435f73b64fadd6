/**
 * Expected failures, by kind. Services throw these; the GraphQL layer turns them into
 * `GraphQLError`s with `extensions.code` (see `mask-error.ts`), everything else is masked.
 */
import type { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'INVALID_TRANSITION'
  | 'CONFLICT'
  | 'CURSOR_EXPIRED'
  | 'SERVICE_UNAVAILABLE'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'OFFSET_MISMATCH';

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The argument the error is about, when there is one. */
    readonly field?: string,
    /** More that a client can act on, beside the code (for example `expectedOffset`). */
    readonly extensions?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function badUserInput(field: string, message: string): DomainError {
  return new DomainError('BAD_USER_INPUT', `${field}: ${message}`, field);
}

export function notFound(what: string, id: string): DomainError {
  return new DomainError('NOT_FOUND', `${what} "${id}" does not exist`);
}

export function invalidTransition(message: string): DomainError {
  return new DomainError('INVALID_TRANSITION', message);
}

/**
 * By name rather than `instanceof`: `graphql` ships a CommonJS and an ES module build, and
 * an error made by one copy is not an instance of the other's class.
 */
export function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}
