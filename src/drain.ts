import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CloseCode } from './transport/close-codes.js';
import type { Transports } from './transport/transports.js';

/**
 * Leaves gracefully, in two halves of `graceMs`. First not ready but still accepting, so a
 * load balancer sees the 503 and stops sending new clients before connections are refused;
 * then no new connections while open ones are served until they leave or time is up; then
 * WebSockets are closed with 1012 (clients reconnect elsewhere and resume), streams end, and
 * once requests in flight have finished, `stop` closes the rest.
 */
export async function drain(options: {
  graceMs: number;
  logger: Logger;
  transports: Pick<Transports, 'stopAccepting' | 'graphqlWebSocketCount' | 'plainWebSocketCount' | 'closeWebSockets' | 'endStreams'>;
  stop(): Promise<void>;
}): Promise<void> {
  const { graceMs, logger, transports } = options;
  logger.info({ graceMs }, 'draining: not ready');
  await sleep(graceMs / 2);
  logger.info('draining: refusing new connections');
  const closed = transports.stopAccepting();
  const deadline = Date.now() + graceMs / 2;
  const open = () => transports.graphqlWebSocketCount() + transports.plainWebSocketCount();
  while (open() > 0 && Date.now() < deadline) await sleep(Math.min(50, graceMs / 2));
  transports.closeWebSockets(CloseCode.ServiceRestart, 'Server restarting');
  transports.endStreams();
  // Requests in flight (mutations) finish; only then is everything else closed.
  await Promise.race([closed, sleep(Math.max(graceMs / 2, 1000))]);
  await options.stop();
  logger.info('drained');
}
