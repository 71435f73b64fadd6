import type { DestinationStream, Logger } from 'pino';
import { pino } from 'pino';
import type { LogLevel } from '../config.js';

/**
 * Tokens and connection parameters never reach the log, whatever logs them. URLs that may
 * carry `?access_token=` are logged through `redactedUrl` (transport/plain/plain-routes.ts).
 */
const REDACTED = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'connectionParams',
  '*.connectionParams',
  'token',
  'access_token',
  '*.access_token',
];

/** JSON lines on stdout (or `destination`), at `level`. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino({ level, redact: REDACTED }, destination);
}
