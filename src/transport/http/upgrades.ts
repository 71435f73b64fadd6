import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** Serves the WebSocket upgrades to one kind of path. */
export interface UpgradeRoute {
  matches(path: string): boolean;
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * Answers an upgrade request with an HTTP error instead of switching protocols: the status,
 * a JSON body, and the connection closed.
 */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  body: { code: string; message: string },
  headers: Record<string, string> = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const json = JSON.stringify(body);
  const lines = Object.entries({
    Connection: 'close',
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(json)),
    ...headers,
  }).map(([name, value]) => `${name}: ${value}`);
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('\r\n')}\r\n\r\n${json}`);
}

/**
 * One `upgrade` listener for the HTTP server, handing each upgrade to the route its path
 * belongs to; any other path is answered 404.
 * @returns the teardown: removes the listener
 */
export function routeUpgrades(httpServer: Server, routes: readonly UpgradeRoute[]): () => void {
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Errors on a socket that has not been upgraded yet are the client's (it went away).
    socket.on('error', () => {});
    const path = request.url?.split('?', 1)[0] ?? '';
    const route = routes.find((candidate) => candidate.matches(path));
    if (route) return route.handleUpgrade(request, socket, head);
    refuseUpgrade(socket, 404, { code: 'NOT_FOUND', message: `no WebSocket endpoint at ${path.slice(0, 200)}` });
  };
  httpServer.on('upgrade', onUpgrade);
  return () => void httpServer.off('upgrade', onUpgrade);
}
