import { once } from 'node:events';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { subscribeResumable } from '../../client/src/resumable-subscription.js';
import { AgentRunStream } from '../../client/src/operations.js';
import { createProducer } from '../../producer/src/index.js';
import { request, webSocketUrl } from '../support/clients.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import type { ServerProcess } from '../support/processes.js';
import { freePort, spawnServer } from '../support/processes.js';
import { createRandom } from '../support/random.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const prefix = uniquePrefix('producer-faults');
const redis = new Redis(REDIS_URL);
/** Disposed in order: clients before the servers they would otherwise keep reconnecting to. */
const leftovers: Array<() => unknown> = [];
const servers: ServerProcess[] = [];

afterEach(async () => {
  for (const dispose of leftovers.splice(0).reverse()) await dispose();
  for (const server of servers.splice(0)) {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await once(server.child, 'exit');
    }
  }
});

afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

/** The server in a process of its own on a fixed port, so it can be killed and come back there. */
async function startServer(port: number): Promise<ServerProcess> {
  const server = spawnServer({ PORT: String(port), REDIS_URL, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'info' });
  servers.push(server);
  await server.listening;
  return server;
}

describe.each(['websocket', 'http'] as const)('a producer over %s through lost replies and a server restart', (transport) => {
  it('streams 2,000 pieces exactly once: the stored text and a subscriber’s rebuilt text are the pieces joined', async () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 100_000);
    const random = createRandom(seed);
    const port = await freePort();
    let server = await startServer(port);
    const direct = `http://127.0.0.1:${port}/graphql`;
    // About one reply in ten is lost after the server acted on its request.
    const proxy = await startFaultProxy({ port });
    proxy.dropAtRandom(0.1, { next: random.next });
    leftovers.push(() => proxy.close());
    const producer = createProducer({
      url: `http://127.0.0.1:${proxy.port}/graphql`,
      transport,
      webSocketImpl: WebSocket,
      retry: { initialDelayMs: 20, maxDelayMs: 500 },
    });
    leftovers.push(() => producer.close());

    const projectId = `faults-${transport}`;
    const run = await producer.startAgentRun({ projectId, agent: 'writer' });
    const { data } = await request<any>(direct, `query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor } }`, { projectId });

    // A subscriber straight to the server, resuming after its last event on every reconnect.
    const subscriber: Client = createClient({
      url: webSocketUrl(direct),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
    });
    leftovers.push(() => subscriber.dispose());
    let rebuilt = '';
    const misplaced: unknown[] = [];
    let completed: string | undefined;
    const subscription = subscribeResumable<any>(
      subscriber,
      { query: print(AgentRunStream), variables: { projectId, runId: run.id, after: data.projectSnapshot.cursor } },
      {
        next: ({ data: event }) => {
          const { type, messageDelta, message } = event.agentRun;
          if (type === 'AGENT_MESSAGE_DELTA') {
            if (messageDelta.offset === rebuilt.length) rebuilt += messageDelta.text;
            else misplaced.push({ offset: messageDelta.offset, length: rebuilt.length });
          }
          if (type === 'AGENT_MESSAGE_COMPLETED') completed = message.content;
        },
        error: (error) => misplaced.push(error),
        complete: () => {},
      },
    );
    leftovers.push(() => subscription.dispose());

    const alphabet = ['a', 'b', ' ', 'é', '😀', '\n', 'ß', 'z'];
    const pieces = Array.from({ length: 2000 }, (_, index) =>
      `${index}:${Array.from({ length: 1 + random.below(4) }, () => random.pick(alphabet)).join('')};`,
    );
    let restarted: Promise<void> | undefined;
    async function* model() {
      for (const [index, piece] of pieces.entries()) {
        if (index === 1000) {
          // Killed without warning, as a crash would, while pieces keep coming.
          restarted = (async () => {
            server.child.kill('SIGKILL');
            await once(server.child, 'exit');
            server = await startServer(port);
          })();
        }
        yield piece;
        // About a model's pace: the window merges a few pieces into each append.
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    const writer = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' });
    const finished = await writer.pipe(model());
    await restarted;
    const text = pieces.join('');
    expect(finished.content === text, `seed ${seed}`).toBe(true);

    const stored = await request<any>(direct, `query ($id: ID!) { agentRun(id: $id) { messageCount messages(first: 10) { content status } } }`, {
      id: run.id,
    });
    expect(stored.data.agentRun.messageCount).toBe(1);
    expect(stored.data.agentRun.messages[0].status).toBe('COMPLETE');
    expect(stored.data.agentRun.messages[0].content === text, `seed ${seed}`).toBe(true);

    await waitFor(() => completed !== undefined, { timeoutMs: 20_000, what: 'the subscriber to see the message completed' });
    expect(misplaced, `seed ${seed}`).toEqual([]);
    expect(rebuilt === text, `seed ${seed}`).toBe(true);
    expect(completed === text).toBe(true);
    // The faults did happen, more than once. How many depends on how many appends the window
    // made of the pieces, which a reconnect's backoff and the restart make fewer (4 in one run).
    expect(proxy.dropped()).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
