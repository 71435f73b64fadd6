/**
 * Expected failures, by kind. Services throw these; the GraphQL layer turns them into
 * `GraphQLError`s with `extensions.code` (see `mask-error.ts`), everything else is masked.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'INVALID_TRANSITION'
  | 'CONFLICT'
  | 'CURSOR_EXPIRED'
  | 'SERVICE_UNAVAILABLE';

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The argument the error is about, when there is one. */
    readonly field?: string,
  ) {
    super(message);
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
