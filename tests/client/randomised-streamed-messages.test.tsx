// @vitest-environment happy-dom
import { cleanup, render } from '@testing-library/react';
import { print } from 'graphql';
import { isDeepStrictEqual } from 'node:util';
import { useEffect } from 'react';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import WebSocket from 'ws';
import type { ConnectionStatus } from '../../client/src/connection-status.js';
import type { EventsClient } from '../../client/src/events-client.js';
import { createEventsClient } from '../../client/src/events-client.js';
import type { AgentRun } from '../../client/src/hooks/use-agent-run-stream.js';
import { useAgentRunStream } from '../../client/src/hooks/use-agent-run-stream.js';
import { AgentRunFields } from '../../client/src/operations.js';
import { EventsProvider } from '../../client/src/provider.js';
import { mutate, request } from '../support/clients.js';
import {
  APPEND_CONTENT,
  APPEND_MESSAGE,
  COMPLETE_RUN,
  FINISH_MESSAGE,
  START_MESSAGE,
  START_RUN,
} from '../support/operations.js';
import { redisForTests } from '../support/redis.js';
import { createServingPair } from '../support/serving-pair.js';
import { waitFor } from '../support/wait-for.js';
import { createRandom } from '../support/random.js';

/**
 * Streamed messages under a random sequence: hooks mounted in the middle of a message, at
 * the start and later on, the hooks' server killed and restarted while messages are being
 * written, text written while it is down. Every text a hook shows must be the start
 * of the message's final text, and each hook must end holding exactly what the query
 * answers, every message COMPLETE. `MESSAGE_SEED=<n>` replays a sequence.
 */

const seed = Number(process.env.MESSAGE_SEED ?? Math.floor(Math.random() * 2 ** 31));

const random = createRandom(seed);
/** The batching window of the instance that takes the writes: every delta alone, or batched. */
const deltaWindowMs = random.pick([0, 10, 50, 50]);

const { prefix } = redisForTests('random-streamed');
const servers = createServingPair(prefix, { AGENT_DELTA_WINDOW_MS: String(deltaWindowMs) });
afterEach(() => cleanup());

const MESSAGE_LIMIT = 3;
const RUN_QUERY = `query ($id: ID!, $messageLimit: Int) { agentRun(id: $id) { ...AgentRunFields } }\n${print(AgentRunFields)}`;
const ALL_MESSAGES = `query ($id: ID!) { agentRun(id: $id) { messages(first: 500) { id content status } } }`;

/** What one mounted hook showed: its runs after each commit, and every text of every message. */
interface Probe {
  runs: AgentRun[];
  status: ConnectionStatus | undefined;
  /** Message id → each distinct text shown, in order, with its status. */
  shown: Map<string, Array<{ content: string; status: string }>>;
  /** ProjectSnapshot requests sent: more than one means a missed delta made the hook reload. */
  snapshotLoads: number;
  /**
   * What happened to the hook, in order: its status changes (with an error's message), its
   * snapshot requests and the test's server restarts, so a failure says why it reloaded.
   */
  timeline: string[];
}

function ProbeView({ projectId, probe }: { projectId: string; probe: Probe }) {
  const { runs, status, error } = useAgentRunStream(projectId, { messageLimit: MESSAGE_LIMIT });
  useEffect(() => {
    probe.runs = runs;
    if (probe.status !== status) probe.timeline.push(error ? `${status} (${error.message})` : status);
    probe.status = status;
    for (const message of runs.flatMap((run) => run.messages)) {
      const seen = probe.shown.get(message.id) ?? [];
      const last = seen.at(-1);
      if (last?.content !== message.content || last.status !== message.status) seen.push({ content: message.content, status: message.status });
      probe.shown.set(message.id, seen);
    }
  });
  return null;
}

const WORDS = ['The', 'queue', 'backed', 'up', 'because', 'a', 'lock', 'on', 'orders', 'held', 'for', '42s', 'é', '🙂', '—'];

/** A run and the streamed messages it has open, enough to pick a change the server accepts. */
function createWorld(projectId: string) {
  const runs: Array<{ id: string; open: string[] }> = [];
  const openMessages = () => runs.flatMap((run) => run.open.map((messageId) => ({ run, messageId })));
  const token = () => `${random.next() < 0.8 ? ' ' : ''}${random.pick(WORDS)}${random.next() < 0.05 ? '\n' : ''}`;

  async function startRun() {
    const run = (await mutate(servers.publisherUrl, START_RUN, { projectId, agent: `writer-${runs.length}` })).startAgentRun;
    runs.push({ id: run.id, open: [] });
  }
  async function startMessage(run = random.pick(runs)) {
    const message = (await mutate(servers.publisherUrl, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
    run.open.push(message.id);
  }
  async function append({ run, messageId } = random.pick(openMessages())) {
    await mutate(servers.publisherUrl, APPEND_CONTENT, { runId: run.id, messageId, text: token() });
  }
  async function finish({ run, messageId } = random.pick(openMessages())) {
    run.open.splice(run.open.indexOf(messageId), 1);
    await mutate(servers.publisherUrl, FINISH_MESSAGE, { runId: run.id, messageId });
  }
  async function appendWhole(run = random.pick(runs)) {
    await mutate(servers.publisherUrl, APPEND_MESSAGE, { runId: run.id, role: random.pick(['USER', 'TOOL']), content: `said ${random.below(1000)}` });
  }
  /** A message being written, with some text: what "mid-message" means for the next move. */
  async function midMessage() {
    if (openMessages().length === 0) await startMessage();
    for (let count = 1 + random.below(4); count > 0; count--) await append();
  }

  return {
    runs,
    startRun,
    midMessage,
    append,
    /** Makes one change: mostly text, sometimes a new, finished or whole message. */
    async step() {
      const open = openMessages().length;
      const moves: Array<[number, () => Promise<void>]> = [
        [open ? 10 : 0, () => append()],
        [open < 3 ? 1.5 : 0, () => startMessage()],
        [open ? 1 : 0, () => finish()],
        [0.6, () => appendWhole()],
      ];
      let roll = random.next() * moves.reduce((sum, [weight]) => sum + weight, 0);
      for (const [weight, move] of moves) {
        roll -= weight;
        if (roll <= 0) return move();
      }
      return moves[0]![1]();
    },
    /** Finishes what is still open: some messages one by one, the rest by completing their run. */
    async finishAll() {
      for (const run of runs) {
        while (run.open.length > 0 && random.next() < 0.5) await finish({ run, messageId: run.open[0]! });
        await mutate(servers.publisherUrl, COMPLETE_RUN, { runId: run.id, output: 'done' });
        run.open.length = 0;
      }
    },
  };
}

describe('streamed messages in hooks under random writes, mounts mid-message and server restarts', () => {
  const mounted: Array<{ unmount(): void; events: EventsClient }> = [];
  afterEach(() => {
    for (const { unmount, events } of mounted.splice(0)) {
      unmount();
      events.dispose();
    }
  });

  // WebSocket only: happy-dom's fetch, which SSE would stream over here, leaves an unhandled
  // 'aborted' rejection behind when the server dies in the middle of a response.
  function mount(projectId: string): Probe {
    const probe: Probe = { runs: [], status: undefined, shown: new Map(), snapshotLoads: 0, timeline: [] };
    const countingFetch: typeof fetch = async (input, init) => {
      if (typeof init?.body === 'string' && init.body.includes('query ProjectSnapshot')) {
        probe.snapshotLoads++;
        probe.timeline.push('snapshot requested');
      }
      return fetch(input, init);
    };
    const events = createEventsClient({ url: servers.url, webSocketImpl: WebSocket, fetch: countingFetch, retryDelayMs: 20, maxRetryDelayMs: 200 });
    const view = render(
      <EventsProvider value={events}>
        <ProbeView projectId={projectId} probe={probe} />
      </EventsProvider>,
    );
    mounted.push({ unmount: view.unmount, events });
    return probe;
  }

  it('end up holding exactly the whole text of every message, COMPLETE, as the query answers', async () => {
    console.info(`streamed messages: MESSAGE_SEED=${seed} (delta window ${deltaWindowMs} ms)`);
    onTestFailed(() => console.error(`randomised streamed-message test failed with MESSAGE_SEED=${seed}`));
    const projectId = `streamed-${seed}`;
    const world = createWorld(projectId);
    const TOTAL = 150;
    const secondMountAt = 30 + random.below(60);
    const restartAt = new Set([15 + random.below(40), 75 + random.below(50)]);

    await world.startRun();
    await world.startRun();
    await world.midMessage();
    const probes = [mount(projectId)];
    // No waiting for the hook to load: text written while its snapshot loads is what the
    // snapshot may read ahead of its cursor, and the merge must absorb that.
    for (let move = 0; move < TOTAL; move++) {
      if (move === secondMountAt) {
        await world.midMessage();
        probes.push(mount(projectId));
      }
      if (restartAt.has(move)) {
        await waitFor(() => probes.every((probe) => probe.status === 'live'), { what: `the hooks to be live before the restart at move ${move}` });
        await world.midMessage();
        for (const probe of probes) probe.timeline.push(`serving server killed at move ${move}`);
        await servers.killServing();
        // Text written while the hooks' server is down arrives through the replay after resume.
        for (let down = 1 + random.below(8); down > 0; down--) await world.step();
        await world.midMessage();
        await servers.startServing();
        for (const probe of probes) probe.timeline.push('serving server started');
      }
      await world.step();
    }
    await world.finishAll();

    const expected = Object.fromEntries(
      await Promise.all(
        world.runs.map(async ({ id }) => {
          const result = await request(servers.publisherUrl, RUN_QUERY, { id, messageLimit: MESSAGE_LIMIT });
          if (result.errors?.length) throw new Error(JSON.stringify(result.errors));
          return [id, result.data!.agentRun as AgentRun] as const;
        }),
      ),
    );
    const byId = (runs: AgentRun[]) => Object.fromEntries(runs.map((run) => [run.id, run]));
    await waitFor(() => probes.every((probe) => probe.status === 'live' && isDeepStrictEqual(byId(probe.runs), expected)), {
      timeoutMs: 8000,
      what: 'the hooks to hold what the query answers',
    }).catch(() => {});
    for (const probe of probes) {
      expect(probe.status).toBe('live');
      expect(byId(probe.runs)).toEqual(expected);
      expect(probe.runs.flatMap((run) => run.messages).every((message) => message.status === 'COMPLETE')).toBe(true);
    }

    // Along the way: each message's text only grew, always the start of its final text, and
    // turned COMPLETE once, at its whole text.
    const finals = new Map<string, { content: string; status: string }>();
    for (const { id } of world.runs) {
      const messages = (await request(servers.publisherUrl, ALL_MESSAGES, { id })).data!.agentRun.messages;
      for (const message of messages) finals.set(message.id, message);
    }
    for (const probe of probes) {
      for (const [messageId, shown] of probe.shown) {
        const final = finals.get(messageId)!;
        shown.forEach(({ content, status }, position) => {
          expect(final.content.startsWith(content), `${messageId} showed ${JSON.stringify(content)}`).toBe(true);
          if (status === 'COMPLETE') {
            expect(content).toBe(final.content);
            expect(position).toBe(shown.length - 1);
          }
          if (position > 0) expect(content.length).toBeGreaterThanOrEqual(shown[position - 1]!.content.length);
        });
      }
      // No delta was missed across the restarts: the hook never had to load its snapshot again.
      expect(probe.snapshotLoads, probe.timeline.join(' → ')).toBe(1);
    }
    // The sequence did what it is for: messages left the window, and the hooks showed text
    // growing across more than one delta.
    expect(finals.size).toBeGreaterThan(MESSAGE_LIMIT);
    expect(probes.every((probe) => [...probe.shown.values()].some((shown) => shown.length > 3))).toBe(true);
  }, 40_000);
});
