import type { Socket } from 'node:net';
import { connect, createServer } from 'node:net';

/** What the proxy does to the next reply of a connection whose request matched. */
type ReplyFault = 'drop' | { delayMs: number };

/**
 * A TCP proxy on loopback that injects the faults a real network has, between a server and
 * Redis or between a producer and a server: it forwards each request, lets the peer act on
 * it, then drops the reply and resets the connection, so the sender cannot know the outcome.
 *
 * Faults are armed by what the request carries (`dropReplyTo`, `delayReplyTo`: a substring
 * of the request's bytes) or at random (`dropAtRandom`); `resetAll` cuts every connection at once.
 */
export async function startFaultProxy(upstream: { host?: string; port: number }) {
  const connections = new Set<{ client: Socket; server: Socket }>();
  const armed: Array<{ match: string; remaining: number; fault: ReplyFault }> = [];
  let dropRate = 0;
  let random: () => number = Math.random;
  let randomMatch = '';
  let dropped = 0;

  const proxy = createServer((client) => {
    const server = connect(upstream.port, upstream.host ?? '127.0.0.1');
    const pair = { client, server };
    connections.add(pair);
    let pending: ReplyFault | undefined;
    const cut = () => {
      client.destroy();
      server.destroy();
      connections.delete(pair);
    };
    client.on('data', (chunk) => {
      if (pending === undefined) {
        const text = chunk.toString('latin1');
        const rule = armed.find((candidate) => text.includes(candidate.match));
        if (rule) {
          pending = rule.fault;
          if (--rule.remaining === 0) armed.splice(armed.indexOf(rule), 1);
        } else if (dropRate > 0 && text.includes(randomMatch) && random() < dropRate) {
          pending = 'drop';
        }
      }
      server.write(chunk);
    });
    server.on('data', (chunk) => {
      if (pending === 'drop') {
        // The peer has acted on the request: its reply is what the sender never sees.
        dropped++;
        cut();
        return;
      }
      if (pending !== undefined) {
        // A slow network: the reply, and whatever follows it on this connection, comes late.
        const { delayMs } = pending;
        pending = undefined;
        server.pause();
        setTimeout(() => {
          client.write(chunk);
          server.resume();
        }, delayMs);
        return;
      }
      client.write(chunk);
    });
    client.on('error', cut);
    server.on('error', cut);
    client.on('close', cut);
    server.on('close', cut);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };

  return {
    port,
    url: (scheme: string, path = '') => `${scheme}://127.0.0.1:${port}${path}`,
    /**
     * The reply to the next `times` requests whose bytes contain `match` is dropped and its
     * connection reset, after the peer acted on the request.
     */
    dropReplyTo(match: string, times = 1): void {
      armed.push({ match, remaining: times, fault: 'drop' });
    },
    /** The reply to the next request whose bytes contain `match` is held back for `delayMs`. */
    delayReplyTo(match: string, delayMs: number): void {
      armed.push({ match, remaining: 1, fault: { delayMs } });
    },
    /**
     * Drops the reply of this share of the requests that contain `match` (every request
     * when it is empty), chosen by `next` (a seeded generator, say).
     */
    dropAtRandom(rate: number, { match = '', next = Math.random }: { match?: string; next?: () => number } = {}): void {
      dropRate = rate;
      randomMatch = match;
      random = next;
    },
    /** Forgets every armed fault. */
    disarm(): void {
      armed.length = 0;
      dropRate = 0;
    },
    /** Replies dropped so far. */
    dropped: () => dropped,
    /** Requests armed with `dropReplyTo` that have not been seen yet. */
    armedCount: () => armed.reduce((sum, rule) => sum + rule.remaining, 0),
    /** Cuts every open connection, as a network failure would. */
    resetAll(): void {
      for (const { client, server } of [...connections]) {
        client.destroy();
        server.destroy();
      }
      connections.clear();
    },
    async close(): Promise<void> {
      this.resetAll();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

export type FaultProxy = Awaited<ReturnType<typeof startFaultProxy>>;
