import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';

/** A connection's line in the log and step in the connections gauge, from open to close. */
export interface ConnectionLog {
  /** Names the connection in any other line logged about it. */
  id: string;
  /** Logs the close with `fields` (why, whose) and how long the connection lasted; call once. */
  closed(fields: Record<string, unknown>): void;
}

/**
 * Counts a connection in and logs it as opened, with who it came from (`fields` adds what
 * the transport knows, such as a redacted URL); `closed` counts it out and logs the close.
 */
export function logConnection(
  metrics: Metrics,
  logger: Logger,
  transport: string,
  request: IncomingMessage,
  fields: Record<string, unknown> = {},
): ConnectionLog {
  const id = randomUUID();
  const opened = Date.now();
  metrics.connections.inc({ transport });
  logger.info({ connectionId: id, transport, remote: request.socket.remoteAddress, origin: request.headers.origin, ...fields }, 'connection opened');
  return {
    id,
    closed(closeFields) {
      metrics.connections.dec({ transport });
      logger.info({ connectionId: id, transport, ...closeFields, durationMs: Date.now() - opened }, 'connection closed');
    },
  };
}
