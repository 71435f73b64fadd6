import type { FormattedExecutionResult, Sink } from 'graphql-ws';
import { cursorOf, isAfter } from './cursor.js';

/**
 * What both `graphql-ws` and `graphql-sse` clients offer. Both re-send an active
 * subscription's payload object when they reconnect.
 */
export interface SubscribingClient {
  subscribe<Data>(
    payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
    sink: Sink<FormattedExecutionResult<Data, unknown>>,
  ): () => void;
}

export interface ResumableRequest {
  /** A subscription whose root field takes `after: String` and selects `cursor`. */
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

export interface ResumableSubscription {
  /** The cursor of the last event delivered, to resume from elsewhere (another page, a reload). */
  readonly lastCursor: string | undefined;
  dispose(): void;
}

/**
 * Subscribes through a graphql-ws (or graphql-sse) client so that every reconnect resumes right after the
 * last event delivered: the server replays what was missed, in order, and the stream goes on.
 * Application code sees one uninterrupted sequence and never handles cursors.
 *
 * @remarks
 * The client re-sends an active subscription's payload object on every reconnect, so keeping
 * `variables.after` on that object current is all it takes. Events at or before the last
 * cursor are dropped, so a replay can never repeat one. A cursor the server can no longer
 * resume from ends the stream with a `CURSOR_EXPIRED` error: reload the snapshot then.
 * The client needs `retryAttempts` above 0 (and `shouldRetry` for the closes to retry on).
 */
export function subscribeResumable<Data = Record<string, unknown>>(
  client: SubscribingClient,
  request: ResumableRequest,
  sink: Sink<FormattedExecutionResult<Data, unknown>>,
): ResumableSubscription {
  const variables: Record<string, unknown> = { ...request.variables };
  const payload = { query: request.query, variables, operationName: request.operationName };
  let lastCursor = typeof variables.after === 'string' ? variables.after : undefined;
  const dispose = client.subscribe<Data>(payload, {
    next(result) {
      const cursor = cursorOf(result.data);
      if (cursor !== undefined) {
        if (!isAfter(cursor, lastCursor)) return;
        lastCursor = cursor;
        variables.after = cursor;
      }
      sink.next(result);
    },
    error: (error) => sink.error(error),
    complete: () => sink.complete(),
  });
  return {
    get lastCursor() {
      return lastCursor;
    },
    dispose,
  };
}
