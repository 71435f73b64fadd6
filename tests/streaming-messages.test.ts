import type { Client } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { RecordedSubscription } from './support/clients.js';
import { connectWebSocket, mutate, request, subscribeOverWebSocket } from './support/clients.js';
import {
  APPEND_CONTENT,
  APPEND_MESSAGE,
  COMPLETE_RUN,
  FAIL_RUN,
  FINISH_MESSAGE,
  START_MESSAGE,
  START_RUN,
  UPDATE_STEP,
  cursorSeq,
} from './support/operations.js';
import { redisForTests } from './support/redis.js';
import { BACKENDS, createAppPool, testConfig } from './support/servers.js';
import { createRandom } from './support/random.js';
import { waitFor } from './support/wait-for.js';

const { prefix } = redisForTests('streaming');
const pool = createAppPool();
const clients: Client[] = [];
const subscriptions: Array<RecordedSubscription<unknown>> = [];
afterEach(async () => {
  subscriptions.splice(0).forEach((subscription) => subscription.dispose());
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  await pool.stopAll();
});

const MESSAGES = `query ($id: ID!) { agentRun(id: $id) { messageCount messages(first: 100) { id index content status } } }`;
const RUN_STREAM = `subscription ($projectId: ID!, $runId: ID, $after: String) {
  agentRun(projectId: $projectId, runId: $runId, after: $after) {
    cursor type run { status messageCount } message { id index content status } messageDelta { messageId offset text }
  }
}`;

interface RunEvent {
  agentRun: {
    cursor: string;
    type: string;
    run: { status: string; messageCount: number };
    message: { id: string; index: number; content: string; status: string } | null;
    messageDelta: { messageId: string; offset: number; text: string } | null;
  };
}

function subscribe(app: App, variables: Record<string, unknown>) {
  const client = connectWebSocket(app.url);
  clients.push(client);
  const subscription = subscribeOverWebSocket<RunEvent>(client, RUN_STREAM, variables);
  subscriptions.push(subscription as RecordedSubscription<unknown>);
  return subscription;
}

/** A subscription that is live: a marker step was seen on it. */
async function subscribeLive(app: App, projectId: string, runId: string) {
  const subscription = subscribe(app, { projectId, runId });
  await waitFor(() => app.feeds.subscriberCount(projectId) > 0, { what: 'the subscriber' });
  return subscription;
}

/** A run with a live subscriber on it and a message streaming in it. */
async function streamingMessage(app: App, projectId: string) {
  const run = (await mutate(app.url, START_RUN, { projectId, agent: 'writer' })).startAgentRun;
  const events = await subscribeLive(app, projectId, run.id);
  const message = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
  return { run, events, message };
}

/**
 * A marker step on the run's own stream: once the `count`th marker has arrived, what went
 * out before it is all there is. Resolves with every event received so far.
 */
function markers(app: App, runId: string, events: RecordedSubscription<RunEvent>) {
  return async (count: number) => {
    await mutate(app.url, UPDATE_STEP, { runId, stepId: 'marker', name: 'marker', status: 'RUNNING' });
    await waitFor(() => events.results.filter((result) => result.agentRun.type === 'AGENT_STEP_UPDATED').length === count, { what: `marker ${count}` });
    return events.results.map((result) => result.agentRun);
  };
}

/** The message as a client folds the stream into it: deltas applied by offset, exactly once. */
function fold(events: RunEvent['agentRun'][], messageId: string) {
  let content = '';
  let status = 'STREAMING';
  for (const event of events) {
    const delta = event.messageDelta;
    if (delta && delta.messageId === messageId) {
      const { offset, text } = delta;
      expect(offset).toBeLessThanOrEqual(content.length);
      if (offset + text.length > content.length) content += text.slice(content.length - offset);
    }
    if (event.type === 'AGENT_MESSAGE_COMPLETED' && event.message?.id === messageId) {
      expect(event.message.content).toBe(content);
      status = event.message.status;
    }
  }
  return { content, status };
}

describe.each(BACKENDS)('streamed agent messages, %s backend', (backend) => {
  const start = (overrides = {}) => pool.start(testConfig(backend, prefix, overrides));

  it('streams a message as a start, deltas at consecutive offsets and a completion with the whole text', async () => {
    const app = await start({ agentDeltaWindowMs: 0 });
    const projectId = `stream-${backend}`;
    const { run, events, message: started } = await streamingMessage(app, projectId);
    expect(started).toMatchObject({ index: 0, role: 'ASSISTANT', content: '', status: 'STREAMING' });
    const pieces = ['Hel', 'lo, ', 'wörld ', '🙂', ' — done.'];
    for (const text of pieces) {
      const answer = (await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: started.id, text })).appendAgentMessageContent;
      expect(answer).toEqual({ id: started.id, index: 0, status: 'STREAMING' });
    }
    const whole = pieces.join('');
    expect((await request(app.url, MESSAGES, { id: run.id })).data!.agentRun.messages).toEqual([
      { id: started.id, index: 0, content: whole, status: 'STREAMING' },
    ]);
    const finished = (await mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: started.id })).finishAgentMessage;
    expect(finished).toEqual({ id: started.id, index: 0, content: whole, status: 'COMPLETE' });

    const received = (await events.waitForResults(pieces.length + 2)).map((result) => result.agentRun);
    expect(received.map((event) => event.type)).toEqual([
      'AGENT_MESSAGE_APPENDED',
      ...pieces.map(() => 'AGENT_MESSAGE_DELTA'),
      'AGENT_MESSAGE_COMPLETED',
    ]);
    expect(received[0]!.message).toEqual({ id: started.id, index: 0, content: '', status: 'STREAMING' });
    // With no window each delta is its own event, at the offset (UTF-16 code units) where it starts.
    let offset = 0;
    received.slice(1, -1).forEach((event, index) => {
      expect(event.messageDelta).toEqual({ messageId: started.id, offset, text: pieces[index] });
      offset += pieces[index]!.length;
    });
    expect(fold(received, started.id)).toEqual({ content: whole, status: 'COMPLETE' });
    expect(received.every((event) => event.run.messageCount === 1)).toBe(true);
    expect((await request(app.url, MESSAGES, { id: run.id })).data!.agentRun.messages).toEqual([
      { id: started.id, index: 0, content: whole, status: 'COMPLETE' },
    ]);
  });

  it('reads a message that completes meanwhile as streaming with its text so far or complete with all of it, never as started', async () => {
    const app = await start({ agentDeltaWindowMs: 0 });
    const run = (await mutate(app.url, START_RUN, { projectId: `finishing-${backend}`, agent: 'writer' })).startAgentRun;
    for (let round = 0; round < 20; round++) {
      const message = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
      const text = `round ${round} — 🙂`;
      await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text });
      const reads = Array.from({ length: 12 }, () => request(app.url, MESSAGES, { id: run.id }));
      const finished = mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: message.id });
      reads.push(...Array.from({ length: 12 }, () => request(app.url, MESSAGES, { id: run.id })));
      await finished;
      for (const read of await Promise.all(reads)) {
        const { content, status } = read.data!.agentRun.messages[round];
        expect({ content, status }).toEqual({ content: text, status: expect.stringMatching(/^(STREAMING|COMPLETE)$/) });
      }
    }
  });

  it('batches the deltas of a message within the window into fewer events, never losing, repeating or reordering text', async () => {
    // A window far longer than the appends take, so the batching does not depend on timing.
    const app = await start({ agentDeltaWindowMs: 1000 });
    const projectId = `batch-${backend}`;
    const { run, events, message } = await streamingMessage(app, projectId);
    const pieces = Array.from({ length: 20 }, (_, index) => `token-${index} `);
    for (const text of pieces) await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text });
    await mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: message.id });
    await waitFor(() => events.results.some((result) => result.agentRun.type === 'AGENT_MESSAGE_COMPLETED'), { what: 'the completion' });
    const received = events.results.map((result) => result.agentRun);
    const deltas = received.filter((event) => event.type === 'AGENT_MESSAGE_DELTA');
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    expect(deltas.length).toBeLessThan(pieces.length / 2);
    expect(deltas.map((event) => event.messageDelta!.text).join('')).toBe(pieces.join(''));
    expect(fold(received, message.id)).toEqual({ content: pieces.join(''), status: 'COMPLETE' });
    // Consecutive log positions: nothing else was written between them.
    const seqs = received.map((event) => cursorSeq(event.cursor));
    expect(seqs).toEqual(seqs.map((_, index) => seqs[0]! + index));
  });

  it('sends a batch when its window ends, without waiting for more text or the finish', async () => {
    // A second: the held piece and the marker after it are in well within it.
    const app = await start({ agentDeltaWindowMs: 1000 });
    const projectId = `window-${backend}`;
    const { run, events, message } = await streamingMessage(app, projectId);
    const marker = markers(app, run.id, events);
    // The first piece goes out at once and opens the window; the next one is held by it.
    await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: 'first' });
    await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: ' alone' });
    const before = (await marker(1)).filter((event) => event.type === 'AGENT_MESSAGE_DELTA');
    expect(before.map((event) => event.messageDelta)).toEqual([{ messageId: message.id, offset: 0, text: 'first' }]);
    // Nothing more is sent and the message is not finished: the window's end sends it.
    await waitFor(() => events.results.filter((result) => result.agentRun.type === 'AGENT_MESSAGE_DELTA').length === 2, { what: 'the held piece' });
    const deltas = events.results.filter((result) => result.agentRun.type === 'AGENT_MESSAGE_DELTA');
    expect(deltas[1]!.agentRun.messageDelta).toEqual({ messageId: message.id, offset: 5, text: ' alone' });
  });

  it('sends a piece at once when the message has had no delta for a window, and holds later pieces until the window ends', async () => {
    // A window far longer than the test takes: only its start can send anything.
    const app = await start({ agentDeltaWindowMs: 1000 });
    const projectId = `leading-${backend}`;
    const { run, events, message } = await streamingMessage(app, projectId);
    await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: 'first' });
    const marker = markers(app, run.id, events);
    // The first piece did not wait for the window: it went out before the marker.
    const first = await marker(1);
    expect(first.map((event) => event.type)).toEqual(['AGENT_MESSAGE_APPENDED', 'AGENT_MESSAGE_DELTA', 'AGENT_RUN_UPDATED', 'AGENT_STEP_UPDATED']);
    expect(first[1]!.messageDelta).toEqual({ messageId: message.id, offset: 0, text: 'first' });
    // The next pieces are within the window: held.
    await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: ' second' });
    await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: ' third' });
    expect((await marker(2)).slice(4).map((event) => event.type)).toEqual(['AGENT_STEP_UPDATED']);
    // Finishing sends what the window held as one delta, before the completion.
    await mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: message.id });
    const received = (await events.waitForResults(7)).map((result) => result.agentRun);
    expect(received.slice(5).map((event) => event.type)).toEqual(['AGENT_MESSAGE_DELTA', 'AGENT_MESSAGE_COMPLETED']);
    expect(received[5]!.messageDelta).toEqual({ messageId: message.id, offset: 5, text: ' second third' });
    expect(fold(received, message.id)).toEqual({ content: 'first second third', status: 'COMPLETE' });
  });

  it('completes messages still streaming before the run ends, with their remaining text', async () => {
    const app = await start({ agentDeltaWindowMs: 1000 });
    for (const [ending, mutation] of [['complete', COMPLETE_RUN], ['fail', FAIL_RUN]] as const) {
      const projectId = `ends-${ending}-${backend}`;
      const run = (await mutate(app.url, START_RUN, { projectId, agent: ending })).startAgentRun;
      const events = await subscribeLive(app, projectId, run.id);
      const first = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
      const second = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'TOOL' })).startAgentMessage;
      await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: first.id, text: 'first text' });
      await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: second.id, text: 'second text' });
      await mutate(app.url, mutation, { runId: run.id, ...(ending === 'fail' ? { error: 'stopped' } : {}) });
      const received = (await events.waitForResults(7)).map((result) => result.agentRun);
      expect(received.slice(2).map((event) => event.type).sort()).toEqual(
        ['AGENT_MESSAGE_COMPLETED', 'AGENT_MESSAGE_COMPLETED', 'AGENT_MESSAGE_DELTA', 'AGENT_MESSAGE_DELTA', ending === 'fail' ? 'AGENT_RUN_FAILED' : 'AGENT_RUN_COMPLETED'].sort(),
      );
      expect(received.at(-1)!.type).toBe(ending === 'fail' ? 'AGENT_RUN_FAILED' : 'AGENT_RUN_COMPLETED');
      expect(fold(received, first.id)).toEqual({ content: 'first text', status: 'COMPLETE' });
      expect(fold(received, second.id)).toEqual({ content: 'second text', status: 'COMPLETE' });
      const stored = (await request(app.url, MESSAGES, { id: run.id })).data!.agentRun.messages;
      expect(stored.map((message: { status: string; content: string }) => [message.content, message.status])).toEqual([
        ['first text', 'COMPLETE'],
        ['second text', 'COMPLETE'],
      ]);
    }
  });

  it('refuses text for a complete message or a finished run with INVALID_TRANSITION, and bad text with BAD_USER_INPUT', async () => {
    const app = await start({ agentDeltaWindowMs: 0 });
    const projectId = `refused-${backend}`;
    const run = (await mutate(app.url, START_RUN, { projectId, agent: 'a' })).startAgentRun;
    const whole = (await mutate(app.url, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'whole' })).appendAgentMessage;
    expect(whole.status).toBe('COMPLETE');
    const streamed = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
    const code = async (query: string, variables: Record<string, unknown>) => {
      const result = await request(app.url, query, variables);
      expect(result.data ?? null).toBeNull();
      return result.errors![0]!.extensions;
    };
    const append = (messageId: string, text: string) => code(APPEND_CONTENT, { runId: run.id, messageId, text });
    expect(await append(whole.id, 'more')).toEqual({ code: 'INVALID_TRANSITION' });
    expect(await append('no-such-message', 'more')).toEqual({ code: 'NOT_FOUND' });
    expect(await code(APPEND_CONTENT, { runId: 'no-such-run', messageId: streamed.id, text: 'x' })).toEqual({ code: 'NOT_FOUND' });
    expect(await append(streamed.id, '')).toEqual({ code: 'BAD_USER_INPUT', field: 'text' });
    expect(await append(streamed.id, 'x'.repeat(10_001))).toEqual({ code: 'BAD_USER_INPUT', field: 'text' });
    expect(await append(streamed.id, 'lone \uD800 surrogate')).toEqual({ code: 'BAD_USER_INPUT', field: 'text' });
    for (let index = 0; index < 10; index++) await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: streamed.id, text: 'y'.repeat(10_000) });
    expect(await append(streamed.id, 'one too many')).toEqual({ code: 'BAD_USER_INPUT', field: 'text' });
    expect(await code(FINISH_MESSAGE, { runId: run.id, messageId: whole.id })).toEqual({ code: 'INVALID_TRANSITION' });
    await mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: streamed.id });
    expect(await append(streamed.id, 'late')).toEqual({ code: 'INVALID_TRANSITION' });
    expect(await code(FINISH_MESSAGE, { runId: run.id, messageId: streamed.id })).toEqual({ code: 'INVALID_TRANSITION' });
    const open = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
    await mutate(app.url, COMPLETE_RUN, { runId: run.id });
    expect(await append(open.id, 'after the run')).toEqual({ code: 'INVALID_TRANSITION' });
    expect(await code(START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).toEqual({ code: 'INVALID_TRANSITION' });
  });

  it('resumes mid-message to exactly the whole text, from snapshots and cursors taken anywhere, under random disconnects', async () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 100_000);
    const random = createRandom(seed).next;
    const app = await start({ agentDeltaWindowMs: 5 });
    const projectId = `resume-mid-${backend}-${seed}`;
    const run = (await mutate(app.url, START_RUN, { projectId, agent: 'writer' })).startAgentRun;
    const message = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
    const SNAPSHOT = `query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor agentRuns { id messages(last: 5) { id content status } } } }`;

    // Readers that join at random moments: each loads a snapshot (content so far), subscribes
    // after its cursor, and some drop and resume after their last cursor.
    const readers: Array<{ content: string; status: string; cursor: string; events: RunEvent['agentRun'][]; subscription?: RecordedSubscription<RunEvent> }> = [];
    const join = async () => {
      const snapshot = (await request(app.url, SNAPSHOT, { projectId })).data!.projectSnapshot;
      const held = snapshot.agentRuns[0].messages.find((entry: { id: string }) => entry.id === message.id);
      const reader = { content: held.content as string, status: held.status as string, cursor: snapshot.cursor as string, events: [] as RunEvent['agentRun'][] };
      readers.push(reader);
      await connect(reader);
    };
    const connect = (reader: (typeof readers)[number]) => {
      const subscription = subscribe(app, { projectId, runId: run.id, after: reader.cursor });
      // Every subscription resumes after a cursor, so whatever happens before it is live is replayed: no wait needed.
      (reader as { subscription?: RecordedSubscription<RunEvent> }).subscription = subscription;
    };
    const drain = (reader: (typeof readers)[number]) => {
      for (const result of reader.subscription!.results.splice(0)) {
        const event = result.agentRun;
        reader.cursor = event.cursor;
        reader.events.push(event);
        const delta = event.messageDelta;
        if (delta && delta.messageId === message.id) {
          const { offset, text } = delta;
          expect(offset, `seed ${seed}: a gap before offset ${offset}`).toBeLessThanOrEqual(reader.content.length);
          if (offset + text.length > reader.content.length) reader.content += text.slice(reader.content.length - offset);
        }
        const completed = event.message;
        if (event.type === 'AGENT_MESSAGE_COMPLETED' && completed && completed.id === message.id) {
          reader.content = completed.content;
          reader.status = completed.status;
        }
      }
    };

    let whole = '';
    for (let step = 0; step < 60; step++) {
      const text = `w${step}${' '.repeat(Math.floor(random() * 3))}${random() < 0.1 ? 'é🙂' : ''}`;
      await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text });
      whole += text;
      const roll = random();
      if (roll < 0.1) await join();
      else if (roll < 0.2 && readers.length > 0) {
        const reader = readers[Math.floor(random() * readers.length)]!;
        drain(reader);
        reader.subscription!.dispose();
        await connect(reader);
      }
    }
    await join();
    await mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: message.id });
    for (const reader of readers) {
      await waitFor(
        () => {
          drain(reader);
          return reader.status === 'COMPLETE';
        },
        { what: `seed ${seed}: a reader to see the completion` },
      );
      expect(reader.content, `seed ${seed}`).toBe(whole);
    }
  });
});
