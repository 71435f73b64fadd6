import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { MessageType } from 'graphql-ws';

/**
 * The frames subscriptions are written in, for the two transports. A shared audience
 * serialises each result once; these helpers wrap that one JSON text for each member.
 */

/** `extensions.http` tells yoga which HTTP status to answer with; it never goes to clients. */
export function withoutHttpHints(error: GraphQLFormattedError): GraphQLFormattedError {
  if (!error.extensions || !('http' in error.extensions)) return error;
  const { http: _http, ...extensions } = error.extensions;
  return { ...error, extensions };
}

/** A result as JSON text, as the transports send it. */
export function stringifyResult(result: ExecutionResult): string {
  if (!result.errors?.length) return JSON.stringify(result);
  const errors = result.errors.map((error) => withoutHttpHints(error.toJSON?.() ?? (error as GraphQLFormattedError)));
  return JSON.stringify({ ...result, errors });
}

/**
 * graphql-ws `next` messages for the operation `id`, from a payload already serialised.
 * The type is graphql-ws' own `MessageType.Next`; the payload is spliced in because members
 * of one audience share it and differ only in their id. The text equals
 * `stringifyMessage({ id, type: MessageType.Next, payload })`.
 */
export function graphqlWsNextFrames(id: string): {
  (payloadJson: string): string;
  /**
   * The same message as UTF-8, from the payload encoded once for the whole audience: per
   * member this copies bytes, where sending the text would encode it again for each.
   */
  bytes(payloadBytes: Buffer): Buffer;
} {
  const prefix = `{"id":${JSON.stringify(id)},"type":${JSON.stringify(MessageType.Next)},"payload":`;
  const prefixBytes = Buffer.from(prefix);
  const frame = (payloadJson: string) => `${prefix}${payloadJson}}`;
  frame.bytes = (payloadBytes: Buffer) => {
    const message = Buffer.allocUnsafe(prefixBytes.length + payloadBytes.length + 1);
    prefixBytes.copy(message, 0);
    payloadBytes.copy(message, prefixBytes.length);
    message[message.length - 1] = CLOSING_BRACE;
    return message;
  };
  return frame;
}

const CLOSING_BRACE = '}'.charCodeAt(0);

/**
 * GraphQL over SSE, distinct-connections mode, as graphql-yoga writes it (and graphql-sse
 * reads it): a comment line first so proxies and browsers see the stream start, one `next`
 * event per result, one `complete` event at the end, and a comment line as keep-alive.
 */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  connection: 'keep-alive',
  'cache-control': 'no-cache',
  'content-encoding': 'none',
} as const;
export const SSE_KEEP_ALIVE = ':\n\n';
export const SSE_COMPLETE = 'event: complete\ndata:\n\n';
/** How often an idle SSE stream gets a keep-alive comment; yoga's interval. */
export const SSE_KEEP_ALIVE_MS = 12_000;

export function sseNextEvent(payloadJson: string): string {
  return `event: next\ndata: ${payloadJson}\n\n`;
}
