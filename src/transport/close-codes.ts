/**
 * WebSocket close codes this server uses besides graphql-ws' own (4400 bad message, 4401
 * unauthorized before ack, 4403 forbidden, 4406 subprotocol, 4408 init timeout, 4409
 * duplicate id, 4429 repeated init) and RFC 6455's (1001 going away, 1009 frame too big,
 * 1011 internal error, 1012 service restart).
 */
export const CloseCode = {
  /** The server is stopping. */
  GoingAway: 1001,
  /** Something unexpected failed on the server; the log says what. */
  InternalError: 1011,
  /** The server is restarting or draining; reconnect (elsewhere) and resume. */
  ServiceRestart: 1012,
  /** The request was malformed. */
  BadRequest: 4400,
  /** The token was refused, or expired while the connection was open. */
  Forbidden: 4403,
  /** The cursor to resume after cannot be resumed: load a fresh snapshot. */
  CursorExpired: 4410,
  /** The connection fell more than its outgoing budget behind; reconnect and resume. */
  SlowConsumer: 4413,
  /** The token's subject already holds the maximum number of connections. */
  TooManyConnections: 4420,
} as const;
