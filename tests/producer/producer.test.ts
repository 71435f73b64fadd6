import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import type { FetchLike, Producer, ProducerOptions } from '../../producer/src/index.js';
import { MUTATIONS, ProducerError, createProducer } from '../../producer/src/index.js';
import { createMessageWriter } from '../../producer/src/message-writer.js';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { connectWebSocket, request, subscribeOverWebSocket } from '../support/clients.js';
import type { RecordedSubscription } from '../support/clients.js';
import { createAppPool, testConfig } from '../support/servers.js';
import { TEST_SECRET, bearer, signToken } from '../support/tokens.js';
import { waitFor } from '../support/wait-for.js';
import WebSocket from 'ws';

const pool = createAppPool();
const producers: Producer[] = [];
const subscriptions: Array<RecordedSubscription<unknown>> = [];

afterEach(async () => {
  for (const subscription of subscriptions.splice(0)) subscription.dispose();
  await Promise.all(producers.splice(0).map((producer) => producer.close()));
  await pool.stopAll();
});

const secured = (limits: Partial<Config['limits']> = {}) =>
  pool.start(
    testConfig('memory', 'unused:', {
      auth: { kind: 'secret', secret: TEST_SECRET },
      limits: { ...testConfig('memory', '').limits, ...limits },
    }),
  );

/** Every request the producer sends and the status it got, through the real `fetch`. */
function observedFetch() {
  const sent: Array<{ at: number; body: { operationName: string; variables: Record<string, unknown> }; key: string | undefined; status?: number; retryAfter?: string | null; answeredAt?: number }> = [];
  const fetchImpl: FetchLike = async (url, init) => {
    const entry: (typeof sent)[number] = { at: Date.now(), body: JSON.parse(init.body), key: init.headers['idempotency-key'] };
    sent.push(entry);
    const response = await fetch(url, init);
    entry.status = response.status;
    entry.retryAfter = response.headers.get('retry-after');
    entry.answeredAt = Date.now();
    return response;
  };
  return { sent, fetchImpl };
}

function producerFor(app: App, options: Partial<ProducerOptions> = {}): Producer {
  const producer = createProducer({ url: app.url, ...options });
  producers.push(producer);
  return producer;
}

const writer = () => signToken({ sub: 'producer', projects: ['p'] });

/** How each call was refused: its code, whether it is retryable, and after how many attempts. */
async function refusals(calls: Array<Promise<unknown>>) {
  const errors = await Promise.all(calls.map((call) => call.then(() => undefined, (error: unknown) => error)));
  return errors.map((error) => error instanceof ProducerError && [error.code, error.retryable, error.attempts]);
}

describe('the producer', () => {
  it('has one method per mutation of schema.graphql, named as the mutation', async () => {
    const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const mutations = Object.keys(schema.getMutationType()!.getFields()).sort();
    expect(Object.keys(MUTATIONS).sort()).toEqual(mutations);
    const producer = createProducer({ url: 'http://127.0.0.1:1/graphql' });
    for (const name of mutations) expect(typeof (producer as unknown as Record<string, unknown>)[name]).toBe('function');
    await producer.close();
  });

  it('takes the arguments as one object and resolves to the mutation result', async () => {
    const app = await secured();
    const producer = producerFor(app, { token: await writer() });
    const job = await producer.createIngestJob({ projectId: 'p', source: 's3://in', totalItems: 10 });
    expect(job).toMatchObject({ projectId: 'p', source: 's3://in', status: 'PENDING', totalItems: 10 });
    const updated = await producer.updateIngestJobProgress({ id: job.id, progress: 0.5, processedItems: 5 });
    expect(updated).toMatchObject({ id: job.id, status: 'RUNNING', progress: 0.5 });
    const run = await producer.startAgentRun({ projectId: 'p', agent: 'a' });
    expect(await producer.updateAgentStep({ runId: run.id, stepId: 's', name: 'S', status: 'RUNNING' })).toMatchObject({ id: run.id, stepCount: 1 });
    const flow = await producer.startWorkflowRun({ projectId: 'p', workflowId: 'w', nodeIds: ['a', 'b'] });
    expect(flow.nodeCounts).toEqual({ pending: 2, running: 0, succeeded: 0, failed: 0, skipped: 0 });
  });

  it('rejects deterministic errors at once with their code, each sent once', async () => {
    const app = await secured();
    const { sent, fetchImpl } = observedFetch();
    const producer = producerFor(app, { token: await writer(), fetch: fetchImpl });
    const job = await producer.createIngestJob({ projectId: 'p', source: 's' });
    await producer.completeIngestJob({ id: job.id });
    const reader = createProducer({ url: app.url, token: await signToken({ sub: 'reader', projects: ['p'], scope: 'events:read' }), fetch: fetchImpl });
    producers.push(reader);
    const failures = await refusals([
      producer.updateIngestJobProgress({ id: 'no-such-job', progress: 0.1 }),
      producer.updateIngestJobProgress({ id: job.id, progress: 2 }),
      producer.completeIngestJob({ id: job.id }),
      reader.createIngestJob({ projectId: 'p', source: 's' }),
    ]);
    expect(failures).toEqual([
      ['NOT_FOUND', false, 1],
      ['BAD_USER_INPUT', false, 1],
      ['INVALID_TRANSITION', false, 1],
      ['FORBIDDEN', false, 1],
    ]);
    expect(sent).toHaveLength(2 + 4);
  });

  it('sends every call with an idempotency key of its own', async () => {
    const app = await secured();
    const { sent, fetchImpl } = observedFetch();
    const producer = producerFor(app, { token: await writer(), fetch: fetchImpl });
    await producer.createIngestJob({ projectId: 'p', source: 'a' });
    await producer.createIngestJob({ projectId: 'p', source: 'a' }, { idempotencyKey: 'import-2026-12-02' });
    expect(sent[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[1]!.key).toBe('import-2026-12-02');
  });

  it('asks the token function again after a 401 and retries with the new token', async () => {
    const app = await secured();
    const tokens = [await signToken({ sub: 'producer', expiresIn: -10 }), await writer()];
    let asked = 0;
    const producer = producerFor(app, { token: () => tokens[Math.min(asked++, 1)]! });
    await expect(producer.createIngestJob({ projectId: 'p', source: 's' })).resolves.toMatchObject({ source: 's' });
    expect(asked).toBe(2);
    // A fixed token that is refused is refused for good.
    const stale = producerFor(app, { token: tokens[0]! });
    await expect(stale.createIngestJob({ projectId: 'p', source: 's' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', retryable: false });
  });

  it('waits out RATE_LIMITED for as long as Retry-After asks, then succeeds', async () => {
    const app = await secured({ mutationsPerSecond: 1 });
    const { sent, fetchImpl } = observedFetch();
    const producer = producerFor(app, { token: await writer(), fetch: fetchImpl });
    // The bucket holds two: the third waits for a token to come back.
    const jobs = await Promise.all([0, 1, 2].map((index) => producer.createIngestJob({ projectId: 'p', source: `s${index}` })));
    expect(jobs.map((job) => job.source)).toEqual(['s0', 's1', 's2']);
    const refused = sent.find((entry) => entry.status === 429)!;
    expect(refused.retryAfter).toBe('1');
    const retried = sent.filter((entry) => entry.key === refused.key);
    expect(retried.map((entry) => entry.status)).toEqual([429, 200]);
    expect(retried[1]!.at - refused.answeredAt!).toBeGreaterThanOrEqual(1000);
  });

  it('gives up on RATE_LIMITED when Retry-After lies beyond its deadline, retryable, with its key', async () => {
    const app = await secured({ mutationsPerSecond: 1 });
    const producer = producerFor(app, { token: await writer(), retry: { deadlineMs: 300 } });
    await producer.createIngestJob({ projectId: 'p', source: 'a' });
    await producer.createIngestJob({ projectId: 'p', source: 'b' });
    const error = (await producer.createIngestJob({ projectId: 'p', source: 'c' }).catch((failure: unknown) => failure)) as ProducerError;
    expect([error.code, error.retryable, error.retryAfterMs, error.attempts]).toEqual(['RATE_LIMITED', true, 1000, 1]);
    expect(error.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('a streamed message', () => {
  it('stores the pieces in order, merging those within the window, and finishes with the whole text', async () => {
    const app = await secured();
    const { sent, fetchImpl } = observedFetch();
    const producer = producerFor(app, { token: await writer(), fetch: fetchImpl, appendWindowMs: 20 });
    const run = await producer.startAgentRun({ projectId: 'p', agent: 'a' });
    const message = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' });
    const pieces = Array.from({ length: 200 }, (_, index) => `piece ${index}, `);
    async function* model() {
      for (const piece of pieces) {
        yield piece;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const finished = await message.pipe(model());
    expect(finished).toMatchObject({ id: message.id, status: 'COMPLETE', content: pieces.join('') });
    const appends = sent.filter((entry) => entry.body.operationName === 'AppendStreamedPiece');
    expect(appends.length).toBeLessThan(pieces.length / 4);
    // Each piece starts where the one before it ended.
    let offset = 0;
    for (const append of appends) {
      expect(append.body.variables.offset).toBe(offset);
      offset += (append.body.variables.text as string).length;
    }
    expect(offset).toBe(pieces.join('').length);
  });

  it('holds text that arrives while a piece is on its way for its own window, and sends it at once when that is over', async () => {
    // The writer's transport held in hand: each piece is stored when the test says so.
    const writerWith = (windowMs: number) => {
      const calls: Array<{ text: string; offset: number; store: () => void }> = [];
      const writer = createMessageWriter({
        id: 'm',
        runId: 'r',
        windowMs,
        transport: { appendPiece: (text, offset) => new Promise<void>((store) => calls.push({ text, offset, store })), finish: async () => ({}) },
      });
      return { writer, calls };
    };
    const held = writerWith(60_000);
    const first = held.writer.append('first');
    const flushed = held.writer.flush();
    expect(held.calls.map((call) => call.text)).toEqual(['first']);
    const second = held.writer.append(' second');
    held.calls[0]!.store();
    await Promise.all([first, flushed]);
    // Stored, and what came meanwhile still waits: its window (a minute) is not over.
    expect(held.calls).toHaveLength(1);
    void held.writer.flush();
    expect(held.calls.map((call) => [call.text, call.offset])).toEqual([['first', 0], [' second', 5]]);
    held.calls[1]!.store();
    await second;

    // With no window, what came meanwhile goes as soon as the piece before is stored.
    const open = writerWith(0);
    void open.writer.append('a');
    void open.writer.append('b');
    expect(open.calls.map((call) => call.text)).toEqual(['a']);
    open.calls[0]!.store();
    await waitFor(() => open.calls.length === 2, { what: 'the second piece' });
    expect(open.calls.map((call) => [call.text, call.offset])).toEqual([['a', 0], ['b', 1]]);
    open.calls[1]!.store();
  });

  it('resolves append once the text is stored, and keeps what a failed source yielded', async () => {
    const app = await secured();
    const producer = producerFor(app, { token: await writer() });
    const run = await producer.startAgentRun({ projectId: 'p', agent: 'a' });
    const message = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' });
    await message.append('Hello');
    const stored = async () =>
      (await request<any>(app.url, `query ($id: ID!) { agentRun(id: $id) { messages(first: 5) { content status } } }`, { id: run.id }, { authorization: bearer(await writer()) }))
        .data.agentRun.messages[0];
    expect(await stored()).toEqual({ content: 'Hello', status: 'STREAMING' });
    async function* failing() {
      yield ', wor';
      yield 'ld';
      throw new Error('the model went away');
    }
    await expect(message.pipe(failing())).rejects.toThrow('the model went away');
    expect(await stored()).toEqual({ content: 'Hello, world', status: 'STREAMING' });
  });

  it('splits text longer than one append allows, without breaking a surrogate pair', async () => {
    const app = await secured();
    const producer = producerFor(app, { token: await writer() });
    const run = await producer.startAgentRun({ projectId: 'p', agent: 'a' });
    const message = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' });
    const text = `${'a'.repeat(9999)}😀${'b'.repeat(12_000)}`;
    await message.append(text);
    expect((await message.finish()).content).toBe(text);
  });

  it('is flushed by close(): text waiting in the window is stored', async () => {
    const app = await secured();
    const producer = createProducer({ url: app.url, token: await writer(), appendWindowMs: 60_000 });
    const run = await producer.startAgentRun({ projectId: 'p', agent: 'a' });
    const message = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' });
    const appended = message.append('kept by close');
    await producer.close();
    await appended;
    await expect(producer.createIngestJob({ projectId: 'p', source: 's' })).rejects.toMatchObject({ code: 'PRODUCER_CLOSED' });
    const content = await request<any>(app.url, `query ($id: ID!) { agentRun(id: $id) { messages(first: 1) { content } } }`, { id: run.id }, { authorization: bearer(await writer()) });
    expect(content.data.agentRun.messages[0].content).toBe('kept by close');
  });
});

describe('coalesced progress', () => {
  it('sends fewer updates than asked, and the last progress and the completion always arrive', async () => {
    const app = await secured();
    const token = await writer();
    const { sent, fetchImpl } = observedFetch();
    const producer = producerFor(app, { token, fetch: fetchImpl, coalesceProgressMs: 20 });
    const job = await producer.createIngestJob({ projectId: 'p', source: 's', totalItems: 500 });
    const client = connectWebSocket(app.url, { connectionParams: { authorization: bearer(token) } });
    const events = subscribeOverWebSocket<any>(
      client,
      `subscription ($projectId: ID!, $jobId: ID) { ingestJob(projectId: $projectId, jobId: $jobId) { type job { progress processedItems status } } }`,
      { projectId: 'p', jobId: job.id },
    );
    subscriptions.push(events);
    await waitFor(() => app.subscriberCount() === 1, { what: 'the subscription' });
    await producer.updateIngestJobProgress({ id: job.id, progress: 0, processedItems: 0 });
    await events.waitForResults(1);
    const updates: Array<Promise<unknown>> = [];
    for (let processed = 1; processed <= 500; processed++) {
      updates.push(producer.updateIngestJobProgress({ id: job.id, progress: processed / 500, processedItems: processed }));
      if (processed % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const completed = await producer.completeIngestJob({ id: job.id });
    expect(completed.status).toBe('COMPLETED');
    // Every caller is answered, superseded ones with the job after the update that replaced theirs.
    const answers = (await Promise.all(updates)) as Array<{ processedItems: number }>;
    expect(answers.at(-1)!.processedItems).toBe(500);
    const progressSent = sent.filter((entry) => entry.body.operationName === 'UpdateIngestJobProgress');
    expect(progressSent.length).toBeLessThan(100);
    const results = await waitForType(events, 'INGEST_JOB_COMPLETED');
    const types = results.map((result) => result.ingestJob.type);
    expect(types.at(-1)).toBe('INGEST_JOB_COMPLETED');
    const lastUpdate = results.filter((result) => result.ingestJob.type === 'INGEST_JOB_UPDATED').at(-1)!;
    expect(lastUpdate.ingestJob.job.processedItems).toBe(500);
    const seen = results.map((result) => result.ingestJob.job.processedItems as number);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    await client.dispose();
  });
});

async function waitForType(events: RecordedSubscription<any>, type: string) {
  for (let count = 1; ; count++) {
    const results = await events.waitForResults(count);
    if (results.some((result) => result.ingestJob.type === type)) return results;
  }
}

describe('over graphql-ws', () => {
  const overSocket = (app: App, options: Partial<ProducerOptions> = {}) => producerFor(app, { transport: 'websocket', webSocketImpl: WebSocket, ...options });

  it('rejects deterministic errors at once with their code', async () => {
    const app = await secured();
    const producer = overSocket(app, { token: await writer() });
    const job = await producer.createIngestJob({ projectId: 'p', source: 's' });
    await producer.completeIngestJob({ id: job.id });
    const failures = await refusals([
      producer.updateIngestJobProgress({ id: 'no-such-job', progress: 0.1 }),
      producer.updateIngestJobProgress({ id: job.id, progress: 2 }),
      producer.completeIngestJob({ id: job.id }),
      producer.createIngestJob({ projectId: 'elsewhere', source: 's' }),
    ]);
    expect(failures).toEqual([
      ['NOT_FOUND', false, 1],
      ['BAD_USER_INPUT', false, 1],
      ['INVALID_TRANSITION', false, 1],
      ['FORBIDDEN', false, 1],
    ]);
  });

  it('connects again with a new token when the server refuses the one it has', async () => {
    const app = await secured();
    const tokens = [await signToken({ sub: 'producer', expiresIn: -10 }), await writer()];
    let asked = 0;
    const producer = overSocket(app, { token: () => tokens[Math.min(asked++, 1)]! });
    await expect(producer.createIngestJob({ projectId: 'p', source: 's' })).resolves.toMatchObject({ source: 's' });
    expect(asked).toBe(2);
  });

  it('waits out RATE_LIMITED, told how long by extensions.retryAfter', async () => {
    const app = await secured({ mutationsPerSecond: 1 });
    const token = await writer();
    const patient = overSocket(app, { token });
    const jobs = await Promise.all([0, 1, 2].map((index) => patient.createIngestJob({ projectId: 'p', source: `s${index}` })));
    expect(jobs.map((job) => job.source)).toEqual(['s0', 's1', 's2']);
    const hasty = overSocket(app, { token, retry: { deadlineMs: 300 } });
    await hasty.createIngestJob({ projectId: 'p', source: 'a' }).catch(() => {});
    await hasty.createIngestJob({ projectId: 'p', source: 'b' }).catch(() => {});
    const error = (await hasty.createIngestJob({ projectId: 'p', source: 'c' }).catch((failure: unknown) => failure)) as ProducerError;
    expect([error.code, error.retryable, error.retryAfterMs]).toEqual(['RATE_LIMITED', true, 1000]);
  });

  it('streams a message in order and closes its socket on close()', async () => {
    const app = await secured();
    const producer = createProducer({ url: app.url, token: await writer(), transport: 'websocket', webSocketImpl: WebSocket });
    const run = await producer.startAgentRun({ projectId: 'p', agent: 'a' });
    const message = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' });
    const pieces = Array.from({ length: 100 }, (_, index) => `${index} `);
    async function* model() {
      for (const piece of pieces) {
        yield piece;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    expect((await message.pipe(model())).content).toBe(pieces.join(''));
    expect(app.webSocketClientCount()).toBe(1);
    await producer.close();
    await waitFor(() => app.webSocketClientCount() === 0, { what: 'the socket to close' });
  });
});
