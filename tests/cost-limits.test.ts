import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { connectWebSocket, mutate, request, subscribeOverSse, subscribeOverWebSocket } from './support/clients.js';
import { APPEND_CONTENT, FINISH_MESSAGE, START_MESSAGE, START_RUN } from './support/operations.js';
import { startPrivateRedis } from './support/processes.js';
import { createAppPool, testConfig } from './support/servers.js';
import { createTeardown } from './support/teardown.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';

const pool = createAppPool();
afterEach(() => pool.stopAll());
const teardown = createTeardown();

type Answer = { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

/** A query over each transport that serves queries, answered as the client sees it. */
const TRANSPORTS: Array<{ name: string; query(app: App, query: string, variables?: Record<string, unknown>): Promise<Answer> }> = [
  { name: 'HTTP', query: (app, query, variables) => request(app.url, query, variables) },
  {
    name: 'SSE',
    async query(app, query, variables) {
      const subscription = subscribeOverSse(app.url, query, variables);
      teardown.push(() => subscription.dispose());
      return firstAnswer(subscription);
    },
  },
  {
    name: 'WebSocket',
    async query(app, query, variables) {
      const client = connectWebSocket(app.url);
      teardown.push(() => client.dispose());
      const subscription = subscribeOverWebSocket(client, query, variables);
      teardown.push(() => subscription.dispose());
      return firstAnswer(subscription);
    },
  },
];

async function firstAnswer(subscription: { results: unknown[]; errors: unknown[]; readonly completed: boolean }): Promise<Answer> {
  const { waitFor } = await import('./support/wait-for.js');
  await waitFor(() => subscription.results.length > 0 || subscription.errors.length > 0, { what: 'the answer', timeoutMs: 10_000 });
  if (subscription.results.length) return { data: subscription.results[0] as Record<string, any> };
  const errors = subscription.errors[0];
  return { errors: (Array.isArray(errors) ? errors : [errors]) as Answer['errors'] };
}

function start(limits: Partial<Config['limits']> = {}): Promise<App> {
  const base = testConfig('memory', 'unused:');
  return pool.start({ ...base, limits: { ...base.limits, ...limits } });
}

async function runWithMessages(app: App, projectId: string, count: number, content: string): Promise<string> {
  const run = (await mutate<any>(app.url, START_RUN, { projectId, agent: 'costs' })).startAgentRun;
  for (let index = 0; index < count; index++) {
    await mutate(app.url, `mutation ($runId: ID!, $content: String!) { appendAgentMessage(runId: $runId, role: USER, content: $content) { index } }`, {
      runId: run.id,
      content,
    });
  }
  return run.id as string;
}

const aliases = (count: number, field: (index: number) => string) =>
  Array.from({ length: count }, (_, index) => `a${index}: ${field(index)}`).join('\n');

const codeOf = (answer: Answer) => answer.errors?.[0]?.extensions?.code;

describe.each(TRANSPORTS)('cost and response limits, over $name', (transport) => {
  it('count first/last passed as variables as if they were written in the document', async () => {
    const app = await start();
    const runId = await runWithMessages(app, 'costs-variables', 3, 'hello');
    const query = `query ($id: ID!, $n: Int) { ${aliases(15, () => 'agentRun(id: $id) { messages(last: $n) { content } }')} }`;

    const refused = await transport.query(app, query, { id: runId, n: 200 });
    expect(codeOf(refused)).toBe('COST_LIMIT_EXCEEDED');
    expect(refused.data ?? null).toBeNull();

    const served = await transport.query(app, query, { id: runId, n: 2 });
    expect(served.errors).toBeUndefined();
    expect(served.data!.a14.messages).toHaveLength(2);
  });

  it('count limit, and the default page of a field asked without one', async () => {
    const app = await start({ maxCost: 200 });
    const runId = await runWithMessages(app, 'costs-defaults', 1, 'hello');

    const history = await transport.query(app, `query { events(projectId: "costs-defaults", limit: 1000) { cursor type } }`);
    expect(codeOf(history)).toBe('COST_LIMIT_EXCEEDED');
    // Without `limit`, history returns its default page (100 events), which costs as much.
    const defaultHistory = await transport.query(app, `query { events(projectId: "costs-defaults") { cursor type } }`);
    expect(codeOf(defaultHistory)).toBe('COST_LIMIT_EXCEEDED');
    // Without first/last, messages returns its default page of 50.
    const defaultMessages = await transport.query(app, `query ($id: ID!) { agentRun(id: $id) { messages { content } } }`, { id: runId });
    expect(codeOf(defaultMessages)).toBe('COST_LIMIT_EXCEEDED');

    const small = await transport.query(app, `query ($id: ID!) { agentRun(id: $id) { messages(last: 1) { content } } events(projectId: "costs-defaults", limit: 2) { cursor } }`, {
      id: runId,
    });
    expect(small.errors).toBeUndefined();
    expect(small.data!.events).toHaveLength(2);
  });

  it('refuse a response larger than MAX_RESPONSE_BYTES with RESPONSE_TOO_LARGE and send none of it', async () => {
    const app = await start({ maxResponseBytes: 50_000 });
    const runId = await runWithMessages(app, 'costs-bytes', 5, 'y'.repeat(20_000));

    const large = await transport.query(app, `query ($id: ID!) { agentRun(id: $id) { messages(first: 5) { content } } }`, { id: runId });
    expect(codeOf(large)).toBe('RESPONSE_TOO_LARGE');
    expect(large.errors).toHaveLength(1);
    expect(large.data ?? null).toBeNull();

    const fits = await transport.query(app, `query ($id: ID!) { agentRun(id: $id) { messages(first: 2) { content } } }`, { id: runId });
    expect(fits.errors).toBeUndefined();
    expect(fits.data!.agentRun.messages).toHaveLength(2);
  });
});

/**
 * An app on a Redis of its own with a response budget of 50,000 bytes, and what that Redis
 * has sent so far: a page refused before it is read never crosses from Redis to the server.
 */
async function appOnPrivateRedis(prefix: string) {
  const redis = await startPrivateRedis();
  teardown.push(() => redis.dispose());
  const base = testConfig('redis', prefix);
  const app = await pool.start({ ...base, redisUrl: redis.url, limits: { ...base.limits, maxResponseBytes: 50_000 } });
  const probe = new Redis(redis.url);
  teardown.push(() => probe.quit());
  const sentByRedis = async () => Number(/total_net_output_bytes:(\d+)/.exec(await probe.info('stats'))![1]);
  return { app, sentByRedis };
}

describe('a page larger than what is left of the response budget', () => {
  it('is refused by Redis itself: the page is never sent to the server, whether its messages are whole or streaming', async () => {
    const { app, sentByRedis } = await appOnPrivateRedis('cost-limits:');
    const whole = await runWithMessages(app, 'costs-unread', 5, 'z'.repeat(40_000));
    // Three streamed messages of 30,000 characters: one finished, two still streaming.
    const streamed = (await mutate<any>(app.url, START_RUN, { projectId: 'costs-unread', agent: 'streams' })).startAgentRun.id as string;
    for (let index = 0; index < 3; index++) {
      const message = (await mutate<any>(app.url, START_MESSAGE, { runId: streamed, role: 'ASSISTANT' })).startAgentMessage;
      for (let piece = 0; piece < 3; piece++) await mutate(app.url, APPEND_CONTENT, { runId: streamed, messageId: message.id, text: 'w'.repeat(10_000) });
      if (index === 0) await mutate(app.url, FINISH_MESSAGE, { runId: streamed, messageId: message.id });
    }
    const page = (first: number) => `query ($id: ID!) { agentRun(id: $id) { messages(first: ${first}) { content } } }`;

    for (const [runId, pageBytes] of [[whole, 200_000], [streamed, 90_000]] as const) {
      const before = await sentByRedis();
      const refused = await request(app.url, page(3), { id: runId });
      const sent = (await sentByRedis()) - before;
      expect(codeOf(refused as Answer)).toBe('RESPONSE_TOO_LARGE');
      // Redis sent the run and the refusal, and this probe's INFO: not the page's bytes.
      expect(sent).toBeLessThan(20_000);
      expect(pageBytes).toBeGreaterThan(50_000);

      const fits = await request(app.url, page(1), { id: runId });
      expect(fits.errors).toBeUndefined();
      expect(fits.data!.agentRun.messages[0].content.length).toBeGreaterThanOrEqual(30_000);
    }
    // The finished one is counted at its whole text, not as it started: with one streaming
    // message beside it the page is over the budget, and refused unread too.
    const before = await sentByRedis();
    expect(codeOf((await request(app.url, page(2), { id: streamed })) as Answer)).toBe('RESPONSE_TOO_LARGE');
    expect((await sentByRedis()) - before).toBeLessThan(20_000);
    // The streaming ones are counted at their current length: the last one alone fits.
    const last = await request(app.url, `query ($id: ID!) { agentRun(id: $id) { messages(last: 1) { content } } }`, { id: streamed });
    expect(last.data!.agentRun.messages[0].content).toHaveLength(30_000);
  });
});

describe('a history page larger than what is left of the response budget', () => {
  it('is refused from the sizes the log keeps, or read only until over the budget: Redis never sends the page', async () => {
    const { app, sentByRedis } = await appOnPrivateRedis('cost-limits-history:');
    // 20 messages of 20,000 characters: a log of about 400,000 bytes.
    await runWithMessages(app, 'history-unread', 20, 'h'.repeat(20_000));
    const history = (limit: number) =>
      `query { events(projectId: "history-unread", limit: ${limit}) { cursor ... on AgentRunEvent { message { content } } } }`;

    // Without a filter it is refused from the sizes the log keeps: Redis sends two entries.
    let before = await sentByRedis();
    const refused = await request(app.url, history(25));
    let sent = (await sentByRedis()) - before;
    expect(codeOf(refused as Answer)).toBe('RESPONSE_TOO_LARGE');
    expect(sent).toBeLessThan(35_000);
    // With one, the log is read in pieces until the events kept pass the budget.
    before = await sentByRedis();
    const filtered = await request(
      app.url,
      `query { events(projectId: "history-unread", types: [AGENT_MESSAGE_APPENDED], limit: 25) { cursor ... on AgentRunEvent { message { content } } } }`,
    );
    sent = (await sentByRedis()) - before;
    expect(codeOf(filtered as Answer)).toBe('RESPONSE_TOO_LARGE');
    expect(sent).toBeLessThan(200_000);

    // Within the budget, the same query answers every event it asks for, in order.
    const fits = await request(app.url, history(3));
    expect(fits.errors).toBeUndefined();
    const events = fits.data!.events as Array<{ cursor: string; message?: { content: string } }>;
    expect(events).toHaveLength(3);
    expect(events.filter((event) => event.message).every((event) => event.message!.content.length === 20_000)).toBe(true);
  });
});

describe('query bytes per subject', () => {
  it('refuse a subject whose queries took more than QUERY_BYTES_PER_SECOND, refusals counting whole, while other subjects are served', async () => {
    const base = testConfig('memory', 'unused:', { auth: { kind: 'secret', secret: TEST_SECRET } });
    // A bucket of 2 × 65,536 bytes; a response refused as too large counts 50,000.
    const app = await pool.start({ ...base, limits: { ...base.limits, maxResponseBytes: 50_000, queryBytesPerSecond: 65_536 } });
    const writer = await signToken({ sub: 'writer', projects: ['*'], expiresIn: 600 });
    const run = (await mutate<any>(app.url, START_RUN, { projectId: 'bytes', agent: 'big' }, { authorization: bearer(writer) })).startAgentRun;
    for (let index = 0; index < 3; index++) {
      await mutate(app.url, `mutation ($r: ID!, $c: String!) { appendAgentMessage(runId: $r, role: USER, content: $c) { index } }`, { r: run.id, c: 'q'.repeat(30_000) }, { authorization: bearer(writer) });
    }
    const reader = await signToken({ sub: 'reader', projects: ['bytes'], scope: 'events:read', expiresIn: 600 });
    const other = await signToken({ sub: 'other', projects: ['bytes'], scope: 'events:read', expiresIn: 600 });
    const large = `query ($id: ID!) { agentRun(id: $id) { messages(first: 3) { content } } }`;
    const small = `query ($id: ID!) { agentRun(id: $id) { status } }`;

    const codes: unknown[] = [];
    for (let attempt = 0; attempt < 3; attempt++) codes.push(codeOf((await request(app.url, large, { id: run.id }, { authorization: bearer(reader) })) as Answer));
    expect(codes).toEqual(['RESPONSE_TOO_LARGE', 'RESPONSE_TOO_LARGE', 'RESPONSE_TOO_LARGE']);
    // 150,000 counted against 131,072: even a small query waits now.
    const limited = (await request(app.url, small, { id: run.id }, { authorization: bearer(reader) })) as Answer;
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.errors![0]!.extensions!.retryAfter).toBeGreaterThanOrEqual(1);
    // Another subject, and mutations, are not held back by it.
    expect(((await request(app.url, small, { id: run.id }, { authorization: bearer(other) })) as Answer).data).toEqual({ agentRun: { status: 'PENDING' } });
  });
});
