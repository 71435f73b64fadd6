import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../src/events/event-record.js';
import { createProjectFeeds } from '../src/events/project-feeds.js';
import { createMemoryPubSub } from '../src/events/pubsub.js';
import { PushIterator } from '../src/events/push-iterator.js';
import { createMemoryStateStore } from '../src/store/memory-state-store.js';
import type { Retention } from '../src/store/state-store.js';
import { waitFor } from './support/wait-for.js';

/**
 * A feed over the in-process log and PubSub, where the test decides which committed
 * events are published: what a lost publish or a dropped connection looks like.
 */
function setup(retention: Retention = { maxEvents: 0, maxAgeMs: 0, finishedMs: 0 }, idleCheckMs = 0) {
  const store = createMemoryStateStore(retention);
  const pubsub = createMemoryPubSub();
  const filled: Array<{ fromSeq: number; toSeq: number; lost: number }> = [];
  const errors: unknown[] = [];
  const feeds = createProjectFeeds({
    pubsub,
    channelFor: (projectId) => `events:${projectId}`,
    log: store,
    gapTimeoutMs: 20,
    idleCheckMs,
    onError: (error) => errors.push(error),
    onGapFilled: (_, range) => filled.push(range),
  });
  const committed = new Map<number, EventRecord>();
  let jobs = 0;
  /** Commits `count` events to project "p" without publishing them. */
  async function append(count: number): Promise<void> {
    for (let index = 0; index < count; index++) {
      const at = new Date().toISOString();
      const id = `job-${++jobs}`;
      const job = { id, projectId: 'p', source: 's', status: 'PENDING' as const, progress: 0, createdAt: at, updatedAt: at };
      const [event] = await store.commit({
        kind: 'ingestJob',
        id,
        projectId: 'p',
        expectedVersion: 0,
        value: job,
        events: [{ type: 'INGEST_JOB_CREATED', projectId: 'p', occurredAt: at, job }],
      });
      committed.set(event!.seq, event!);
    }
  }
  const publish = async (...seqs: number[]) => {
    for (const seq of seqs) await pubsub.publish('events:p', committed.get(seq)!);
  };
  const received: EventRecord[] = [];
  const listen = () => feeds.subscribe('p', (event) => received.push(event));
  const seqs = () => received.map((event) => event.seq);
  return { store, pubsub, feeds, filled, errors, append, publish, listen, received, seqs };
}

describe('project feeds', () => {
  it('puts events that crossed on the way back in log order', async () => {
    const { append, publish, listen, seqs, filled } = setup();
    await listen();
    await append(5);
    await publish(2, 1, 4, 3, 5);
    expect(seqs()).toEqual([1, 2, 3, 4, 5]);
    expect(filled).toEqual([]);
  });

  it('goes live at the head and delivers nothing at or before it, nor any duplicate', async () => {
    const { append, publish, listen, seqs, store } = setup();
    await append(10);
    const { position } = await listen();
    expect(position).toEqual(await store.head('p'));
    expect(position.seq).toBe(10);
    await append(2);
    await publish(9, 10, 11, 11, 12);
    expect(seqs()).toEqual([11, 12]);
  });

  it('reads a position that never arrived live from the log', async () => {
    const { append, publish, listen, seqs, filled } = setup();
    await listen();
    await append(3);
    await publish(1, 3);
    expect(seqs()).toEqual([1]);
    await waitFor(() => seqs().length === 3, { what: 'the gap to be filled' });
    expect(seqs()).toEqual([1, 2, 3]);
    expect(filled).toEqual([{ fromSeq: 2, toSeq: 2, lost: 0 }]);
  });

  it('catches up on events that were committed but never published', async () => {
    const { append, listen, seqs, feeds } = setup();
    await listen();
    await append(3);
    expect(seqs()).toEqual([]);
    await feeds.catchUp();
    expect(seqs()).toEqual([1, 2, 3]);
  });

  it('finds a lost last event while idle, with nothing after it to reveal the gap', async () => {
    const { append, publish, listen, seqs, feeds } = setup(undefined, 20);
    await listen();
    await append(2);
    await publish(1);
    await waitFor(() => seqs().length === 2, { what: 'the idle check to read the log' });
    expect(seqs()).toEqual([1, 2]);
    feeds.close();
  });

  it('passes over positions the log no longer retains and reports them as lost', async () => {
    const { append, publish, listen, seqs, filled } = setup({ maxEvents: 2, maxAgeMs: 0, finishedMs: 0 });
    await listen();
    await append(5);
    await publish(5);
    await waitFor(() => seqs().length === 2, { what: 'the retained events' });
    expect(seqs()).toEqual([4, 5]);
    expect(filled).toEqual([{ fromSeq: 1, toSeq: 5, lost: 3 }]);
  });

  it('shares one PubSub subscription per project and releases it with the last listener', async () => {
    const { append, publish, feeds } = setup();
    const first: number[] = [];
    const second: number[] = [];
    const a = await feeds.subscribe('p', (event) => first.push(event.seq));
    const b = await feeds.subscribe('p', (event) => second.push(event.seq));
    expect(feeds.subscriberCount('p')).toBe(2);
    await append(2);
    await publish(1);
    a.detach();
    await publish(2);
    expect(first).toEqual([1]);
    expect(second).toEqual([1, 2]);
    b.detach();
    b.detach();
    expect(feeds.subscriberCount('p')).toBe(0);
    expect(feeds.subscriberCount()).toBe(0);
  });

  it('drops a malformed message and reports it, without disturbing the feed', async () => {
    const { append, publish, pubsub, listen, seqs, errors } = setup();
    await listen();
    await pubsub.publish('events:p', { garbage: true } as never);
    await append(1);
    await publish(1);
    expect(seqs()).toEqual([1]);
    expect(errors).toHaveLength(1);
  });
});

describe('PushIterator', () => {
  it('hands out pushed values in order and runs its teardown once on return()', async () => {
    const stream = new PushIterator<number>();
    let teardowns = 0;
    stream.teardown = () => teardowns++;
    stream.push(1);
    stream.push(2);
    expect(await stream.next()).toEqual({ value: 1, done: false });
    expect(await stream.next()).toEqual({ value: 2, done: false });
    const waiting = stream.next();
    await stream.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    await stream.return();
    stream.push(3);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(teardowns).toBe(1);
  });

  it('runs a teardown attached after the iteration already ended', async () => {
    const stream = new PushIterator<number>();
    await expect(stream.throw(new Error('stop'))).rejects.toThrow('stop');
    let tornDown = false;
    stream.teardown = () => {
      tornDown = true;
    };
    expect(tornDown).toBe(true);
  });
});
