/**
 * Codes of failures that happen on the producer's side of the wire; every other `code` is
 * the server's `extensions.code`.
 */
export type ProducerFailureCode =
  /** The connection was refused, reset or cut before an answer arrived: the outcome is unknown. */
  | 'NETWORK_ERROR'
  /** One attempt took longer than `requestTimeoutMs`: the outcome is unknown. */
  | 'TIMEOUT'
  /** The server answered with something that is not a GraphQL response. */
  | 'BAD_RESPONSE'
  /** `close()` was called, or the call's signal aborted, before the call could finish. */
  | 'PRODUCER_CLOSED'
  | 'ABORTED';

/**
 * Server codes that say the same request may succeed later, or whose outcome is unknown:
 * the producer retries them with the same idempotency key.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'SERVICE_UNAVAILABLE',
  'CONFLICT',
  'RATE_LIMITED',
  'INTERNAL_SERVER_ERROR',
  'NETWORK_ERROR',
  'TIMEOUT',
  'BAD_RESPONSE',
]);

/** Whether a failure with `code` (and the HTTP `status` it came with, if any) may be retried. */
export function isRetryable(code: string, status?: number): boolean {
  if (RETRYABLE_CODES.has(code)) return true;
  // A code the producer does not know, on an answer a gateway or the server marked as
  // transient (502, 503, 504, 408, 429): what the status says wins.
  return status !== undefined && (status >= 500 || status === 408 || status === 429) && !KNOWN_DETERMINISTIC.has(code);
}

/** Codes that come out the same however often the request is sent. */
const KNOWN_DETERMINISTIC: ReadonlySet<string> = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'INVALID_TRANSITION',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'IDEMPOTENCY_KEY_REUSED',
  'OFFSET_MISMATCH',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
]);

/**
 * Every failure of a producer call. Branch on `code`, never on the message.
 *
 * @remarks
 * `retryable` is true when sending the same request again may succeed: the producer has
 * already done so until its deadline, so a retryable error means the deadline passed. Retry
 * it yourself with the same `idempotencyKey` (every method takes one) and the change still
 * happens at most once.
 */
export class ProducerError extends Error {
  override readonly name = 'ProducerError';
  /** The server's `extensions.code`, or a {@link ProducerFailureCode}. */
  readonly code: string;
  readonly retryable: boolean;
  /** The error's `extensions` as the server sent them (`expectedOffset`, `retryAfter`, `field`, …). */
  readonly extensions: Readonly<Record<string, unknown>>;
  /** The HTTP status of the last answer, when there was one. */
  readonly status: number | undefined;
  /** The key the call was sent with: pass it again to retry without changing anything twice. */
  readonly idempotencyKey: string | undefined;
  /** How many times the request was sent. */
  readonly attempts: number;
  /** How long the server asked to wait before the next attempt (`Retry-After`), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: string,
    message: string,
    details: {
      retryable?: boolean;
      extensions?: Record<string, unknown>;
      status?: number;
      idempotencyKey?: string;
      attempts?: number;
      retryAfterMs?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = details.retryable ?? isRetryable(code, details.status);
    this.extensions = details.extensions ?? {};
    this.status = details.status;
    this.idempotencyKey = details.idempotencyKey;
    this.attempts = details.attempts ?? 0;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** The same failure, told how many attempts it took and under which key. */
  withAttempts(attempts: number, idempotencyKey: string | undefined): ProducerError {
    return new ProducerError(this.code, this.message, {
      retryable: this.retryable,
      extensions: { ...this.extensions },
      status: this.status,
      idempotencyKey,
      attempts,
      retryAfterMs: this.retryAfterMs,
      cause: this.cause,
    });
  }
}
