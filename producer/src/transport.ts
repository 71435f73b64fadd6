import { ProducerError } from './errors.js';

/** One GraphQL operation as the producer sends it. */
export interface OperationRequest {
  query: string;
  operationName: string;
  variables: Record<string, unknown>;
  idempotencyKey: string;
}

export interface GraphQLErrorShape {
  message: string;
  extensions?: Record<string, unknown>;
}

/** What came back for one operation. */
export interface OperationAnswer {
  data?: Record<string, unknown> | null;
  errors?: readonly GraphQLErrorShape[];
  extensions?: Record<string, unknown>;
  /** The HTTP status it came with. */
  status?: number;
  /** `Retry-After`, in milliseconds, when the answer carried one. */
  retryAfterMs?: number;
}

/**
 * How operations reach the server. `send` resolves with the server's answer, whatever it
 * says, or rejects with a {@link ProducerError} when no answer arrived.
 */
export interface Transport {
  send(request: OperationRequest, token: string | undefined, signal: AbortSignal): Promise<OperationAnswer>;
  /** Releases what the transport holds. */
  close(): Promise<void>;
}

/** The part of WHATWG `fetch` the producer uses, so any implementation can be passed in. */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Why a fetch produced no answer, as a code: the signal's reason when it aborted, else the network. */
export function failureOf(error: unknown, signal: AbortSignal): ProducerError {
  if (signal.aborted) {
    const reason = signal.reason as unknown;
    if (reason instanceof ProducerError) return reason;
    return new ProducerError('ABORTED', 'the call was aborted', { cause: reason });
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new ProducerError('NETWORK_ERROR', `no answer from the server (${detail}); the outcome is unknown`, { cause: error });
}

/** Parses an answer's body; a body that is not a GraphQL response is BAD_RESPONSE (retryable on 5xx). */
export function parseAnswer(text: string, status: number): Omit<OperationAnswer, 'status' | 'retryAfterMs'> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProducerError('BAD_RESPONSE', `the server answered ${status} with a body that is not JSON`, {
      status,
      retryable: status >= 500 || status === 408 || status === 429,
    });
  }
  if (typeof body !== 'object' || body === null || (!('data' in body) && !('errors' in body))) {
    throw new ProducerError('BAD_RESPONSE', `the server answered ${status} without data or errors`, { status, retryable: status >= 500 });
  }
  return body as OperationAnswer;
}

/**
 * One POST per operation, over the keep-alive connections of `fetch`. The idempotency key
 * goes in the `Idempotency-Key` header, which proxies and server logs can see.
 */
export function createHttpTransport(url: string, fetchImpl: FetchLike): Transport {
  return {
    async send(request, token, signal) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        // With this media type the server answers with the status an error calls for
        // (401, 429, 503…), which is what proxies and the retry rules read.
        accept: 'application/graphql-response+json, application/json',
        'idempotency-key': request.idempotencyKey,
      };
      if (token) headers.authorization = `Bearer ${token}`;
      const body = JSON.stringify({ query: request.query, operationName: request.operationName, variables: request.variables });
      let response: Awaited<ReturnType<FetchLike>>;
      let text: string;
      try {
        response = await fetchImpl(url, { method: 'POST', headers, body, signal });
        text = await response.text();
      } catch (error) {
        throw failureOf(error, signal);
      }
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      return { ...parseAnswer(text, response.status), status: response.status, retryAfterMs };
    },
    async close() {},
  };
}
