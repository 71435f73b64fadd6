import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { connectWebSocket, mutate, request, subscribeOverWebSocket } from './support/clients.js';
import { AGENT_RUN_STREAM, START_RUN } from './support/operations.js';
import { plainStreamUrl } from './support/plain-clients.js';
import { createAppPool, testConfig } from './support/servers.js';
import type { StalledClient } from './support/stalled-clients.js';
import { stalledGraphqlWs, stalledPlainWebSocket, stalledSse } from './support/stalled-clients.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { createTeardown } from './support/teardown.js';
import { waitFor } from './support/wait-for.js';

const pool = createAppPool();
afterEach(() => pool.stopAll());
const teardown = createTeardown();

/** Large enough that the kernel's socket buffers hold a small part of it. */
const MESSAGES = 300;
const CONTENT = 'x'.repeat(100_000);

async function counter(app: App, name: string): Promise<number> {
  const metric = app.metrics.registry.getSingleMetric(name);
  const { values } = await metric!.get();
  return values.reduce((sum, value) => sum + value.value, 0);
}

function start(overrides: Partial<Config> = {}, limits: Partial<Config['limits']> = {}): Promise<App> {
  const base = testConfig('memory', 'unused:');
  return pool.start({ ...base, ...overrides, limits: { ...base.limits, replayStallMs: 300, ...limits } });
}

/** A run with a 30 MB log, and the cursor from before its first event. */
async function bigLog(app: App, projectId: string, headers?: Record<string, string>): Promise<string> {
  const snapshot = await request<any>(app.url, `query ($p: ID!) { projectSnapshot(projectId: $p) { cursor } }`, { p: projectId }, headers);
  const run = (await mutate<any>(app.url, START_RUN, { projectId, agent: 'big' }, headers)).startAgentRun;
  for (let index = 0; index < MESSAGES; index++) {
    await mutate(app.url, `mutation ($runId: ID!, $content: String!) { appendAgentMessage(runId: $runId, role: ASSISTANT, content: $content) { index } }`, { runId: run.id, content: CONTENT }, headers);
  }
  return snapshot.data.projectSnapshot.cursor as string;
}

type Transport = {
  name: string;
  config?: Partial<Config>;
  open(app: App, projectId: string, after: string): StalledClient;
};

const TRANSPORTS: Transport[] = [
  {
    name: 'graphql-ws (shared audience)',
    open: (app, projectId, after) => stalledGraphqlWs(app.url, { query: AGENT_RUN_STREAM, variables: { projectId, after } }),
  },
  {
    name: 'graphql-ws (executing on its own)',
    config: { fanout: 'per-subscriber' },
    open: (app, projectId, after) => stalledGraphqlWs(app.url, { query: AGENT_RUN_STREAM, variables: { projectId, after } }),
  },
  {
    name: 'GraphQL over SSE',
    open: (app, projectId, after) => stalledSse(app.url, { body: { query: AGENT_RUN_STREAM, variables: { projectId, after } } }),
  },
  {
    name: 'plain WebSocket',
    open: (app, projectId, after) =>
      stalledPlainWebSocket(plainStreamUrl(app.url, `/api/stream/projects/${projectId}?after=${encodeURIComponent(after)}`, 'ws')),
  },
  {
    name: 'plain SSE',
    open: (app, projectId, after) => stalledSse(plainStreamUrl(app.url, `/api/stream/projects/${projectId}?after=${encodeURIComponent(after)}`)),
  },
];

describe.each(TRANSPORTS)('a resumer that stops reading, over $name', (transport) => {
  it('reads the log a page at a time as it drains, and is cut as a slow consumer', async () => {
    const app = await start(transport.config);
    const projectId = `bounded-${transport.name.replace(/\W+/g, '-')}`;
    const after = await bigLog(app, projectId);

    const client = transport.open(app, projectId, after);
    teardown.push(() => client.dispose());
    await client.stalled;
    await waitFor(async () => (await counter(app, 'rte_slow_consumer_disconnects_total')) >= 1, {
      what: 'the stalled resumer to be cut',
      timeoutMs: 15_000,
    });
    // Eager, the replay would have read the whole log into memory before the first write.
    expect(await counter(app, 'rte_replayed_events_total')).toBeLessThan(MESSAGES / 2);
    await waitFor(() => app.subscriberCount() === 0, { what: 'the stalled subscription to be released' });
  }, 60_000);
});

describe('replays', () => {
  it('leave the cursor valid: a client that reads resumes from it and gets every event', async () => {
    const app = await start();
    const projectId = 'bounded-reconnect';
    const after = await bigLog(app, projectId);
    const stalled = stalledGraphqlWs(app.url, { query: AGENT_RUN_STREAM, variables: { projectId, after } });
    teardown.push(() => stalled.dispose());
    await stalled.stalled;
    await waitFor(async () => (await counter(app, 'rte_slow_consumer_disconnects_total')) >= 1, { what: 'the cut', timeoutMs: 15_000 });

    const client = connectWebSocket(app.url);
    teardown.push(() => client.dispose());
    const resumed = subscribeOverWebSocket(client, AGENT_RUN_STREAM, { projectId, after });
    teardown.push(() => resumed.dispose());
    const results = await resumed.waitForResults(MESSAGES + 1, 30_000);
    expect(results.map((result: any) => result.agentRun.type)).toEqual([
      'AGENT_RUN_CREATED',
      ...Array.from({ length: MESSAGES }, () => 'AGENT_MESSAGE_APPENDED'),
    ]);
  }, 60_000);

  it('run at most MAX_REPLAYS_PER_SUBJECT at once per subject; one more is refused with RATE_LIMITED', async () => {
    const app = await start({ auth: { kind: 'secret', secret: TEST_SECRET } }, { maxReplaysPerSubject: 1, replayStallMs: 60_000, mutationsPerSecond: 100_000 });
    const projectId = 'bounded-cap';
    const attacker = await signToken({ sub: 'attacker' });
    const after = await bigLog(app, projectId, { authorization: bearer(attacker) });

    const holding = stalledGraphqlWs(app.url, { query: AGENT_RUN_STREAM, variables: { projectId, after } }, { authorization: bearer(attacker) });
    teardown.push(() => holding.dispose());
    await holding.stalled;

    const again = connectWebSocket(app.url, { connectionParams: { authorization: bearer(attacker) } });
    teardown.push(() => again.dispose());
    const refused = subscribeOverWebSocket(again, AGENT_RUN_STREAM, { projectId, after });
    teardown.push(() => refused.dispose());
    const errors = (await refused.waitForError(10_000)) as Array<{ extensions?: { code?: string } }>;
    expect(errors[0]?.extensions?.code).toBe('RATE_LIMITED');

    // Another subject is not held back by the first one's replays.
    const other = connectWebSocket(app.url, { connectionParams: { authorization: bearer(await signToken({ sub: 'someone-else' })) } });
    teardown.push(() => other.dispose());
    const served = subscribeOverWebSocket(other, AGENT_RUN_STREAM, { projectId, after });
    teardown.push(() => served.dispose());
    await served.waitForResults(MESSAGES + 1, 30_000);

    // The slot comes back when the holding replay ends.
    holding.dispose();
    await waitFor(() => app.subscriberCount() === 1, { what: 'the holding replay to end' });
    const later = subscribeOverWebSocket(again, AGENT_RUN_STREAM, { projectId, after });
    teardown.push(() => later.dispose());
    await later.waitForResults(MESSAGES + 1, 30_000);
  }, 60_000);
});
