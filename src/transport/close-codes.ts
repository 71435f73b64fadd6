import { CloseCode as ProtocolCloseCode } from 'graphql-ws';

/** The named codes of an enum object, without TypeScript's reverse (number → name) entries. */
function namedCodes<T extends Record<string, string | number>>(codes: T): { readonly [K in keyof T as T[K] extends number ? K : never]: T[K] } {
  return Object.fromEntries(Object.entries(codes).filter(([, code]) => typeof code === 'number')) as never;
}

/**
 * Every WebSocket close code this server sends: graphql-ws' own (4400 bad message, 4401
 * unauthorized before ack, 4403 forbidden, 4406 subprotocol, 4408 init timeout, 4409
 * duplicate id, 4429 repeated init), extended by RFC 6455's (1001 going away, 1009 frame
 * too big, 1011 internal error, 1012 service restart) and this server's own codes.
 */
export const CloseCode = {
  ...namedCodes(ProtocolCloseCode),
  /** The server is stopping. */
  GoingAway: 1001,
  /** Something unexpected failed on the server; the log says what. */
  InternalError: 1011,
  /** The server is restarting or draining; reconnect (elsewhere) and resume. */
  ServiceRestart: 1012,
  /** The cursor to resume after cannot be resumed: load a fresh snapshot. */
  CursorExpired: 4410,
  /** The connection fell more than its outgoing budget behind; reconnect and resume. */
  SlowConsumer: 4413,
  /** The token's subject already holds the maximum number of connections. */
  TooManyConnections: 4420,
  /**
   * A per-subject limit (concurrent replays, subscriptions) or a project's audience limit
   * refused the plain stream, or a graphql-ws connection had too many operations refused in a
   * row; retry later.
   */
  RateLimited: 4421,
} as const;
