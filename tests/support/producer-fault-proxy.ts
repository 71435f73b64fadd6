import type { Socket } from 'node:net';
import { connect, createServer } from 'node:net';

/**
 * A TCP proxy on loopback between a producer and a server that loses replies: it forwards a
 * request, lets the server act on it, then cuts the connection instead of forwarding the
 * answer, so the producer cannot know the outcome. While the server is down, connections
 * are cut as soon as they open.
 *
 * @param dropRate the share of requests whose reply is lost
 * @param random a seeded generator, so a failing run can be replayed
 */
export async function startProducerFaultProxy(upstreamPort: number, options: { dropRate: number; random: () => number }) {
  const sockets = new Set<Socket>();
  let dropped = 0;
  let forwarded = 0;
  const proxy = createServer((client) => {
    const server = connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(server);
    /** Set when the reply to the request in flight is to be lost. */
    let dropNextReply = false;
    const cut = () => {
      client.destroy();
      server.destroy();
      sockets.delete(client);
      sockets.delete(server);
    };
    client.on('data', (chunk) => {
      if (!dropNextReply && options.random() < options.dropRate) dropNextReply = true;
      server.write(chunk);
    });
    server.on('data', (chunk) => {
      if (dropNextReply) {
        dropped++;
        cut();
        return;
      }
      forwarded++;
      client.write(chunk);
    });
    client.on('error', cut).on('close', cut);
    server.on('error', cut).on('close', cut);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  return {
    port,
    /** Replies lost so far. */
    get dropped() {
      return dropped;
    },
    get forwarded() {
      return forwarded;
    },
    async dispose(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
