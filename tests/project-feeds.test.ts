import { describe, expect, it } from 'vitest';
import type { EventRecord, LogPosition } from '../src/events/event-record.js';
import { createProjectFeeds } from '../src/events/project-feeds.js';
import { createMemoryPubSub } from '../src/events/pubsub.js';
import { PushIterator } from '../src/events/push-iterator.js';
import { waitFor } from './support/wait-for.js';

function event(seq: number, epoch = 'e1'): EventRecord {
  const at = new Date(0).toISOString();
  return {
    type: 'INGEST_JOB_UPDATED',
    projectId: 'p',
    seq,
    epoch,
    occurredAt: at,
    job: { id: 'j', projectId: 'p', source: 's', status: 'RUNNING', progress: 0, createdAt: at, updatedAt: at },
  };
}

function setup(head: LogPosition | undefined = { epoch: 'e1', seq: 0 }) {
  const pubsub = createMemoryPubSub();
  const gaps: Array<{ fromSeq: number; toSeq: number }> = [];
  const errors: unknown[] = [];
  const feeds = createProjectFeeds({
    pubsub,
    channelFor: (projectId) => `events:${projectId}`,
    head: async () => head,
    gapTimeoutMs: 30,
    onError: (error) => errors.push(error),
    onGap: (_, missing) => gaps.push(missing),
  });
  const publish = (...seqs: number[]) => Promise.all(seqs.map((seq) => pubsub.publish('events:p', event(seq))));
  return { pubsub, feeds, gaps, errors, publish };
}

const seqs = (events: EventRecord[]) => events.map((received) => received.seq);

describe('project feeds', () => {
  it('puts events that crossed on the way back in log order', async () => {
    const { feeds, publish, gaps } = setup();
    const received: EventRecord[] = [];
    await feeds.subscribe('p', (received_) => received.push(received_));
    await publish(2, 1, 4, 3, 5);
    expect(seqs(received)).toEqual([1, 2, 3, 4, 5]);
    expect(gaps).toEqual([]);
  });

  it('delivers nothing at or before the head it started from, and no duplicates', async () => {
    const { feeds, publish } = setup({ epoch: 'e1', seq: 10 });
    const received: EventRecord[] = [];
    await feeds.subscribe('p', (received_) => received.push(received_));
    await publish(9, 10, 11, 11, 12);
    expect(seqs(received)).toEqual([11, 12]);
  });

  it('skips a position that never arrives after the gap timeout and reports it', async () => {
    const { feeds, publish, gaps } = setup();
    const received: EventRecord[] = [];
    await feeds.subscribe('p', (received_) => received.push(received_));
    await publish(1, 3, 4);
    expect(seqs(received)).toEqual([1]);
    await waitFor(() => received.length === 3, { what: 'the events after the gap' });
    expect(seqs(received)).toEqual([1, 3, 4]);
    expect(gaps).toEqual([{ fromSeq: 2, toSeq: 2 }]);
  });

  it('follows a new epoch from its first event', async () => {
    const { feeds, pubsub } = setup({ epoch: 'old', seq: 40 });
    const received: EventRecord[] = [];
    await feeds.subscribe('p', (received_) => received.push(received_));
    await pubsub.publish('events:p', event(1, 'new'));
    await pubsub.publish('events:p', event(2, 'new'));
    expect(received.map((e) => `${e.epoch}:${e.seq}`)).toEqual(['new:1', 'new:2']);
  });

  it('shares one PubSub subscription per project and releases it with the last listener', async () => {
    const { feeds, publish } = setup();
    const first: EventRecord[] = [];
    const second: EventRecord[] = [];
    const detachFirst = await feeds.subscribe('p', (received) => first.push(received));
    const detachSecond = await feeds.subscribe('p', (received) => second.push(received));
    expect(feeds.subscriberCount('p')).toBe(2);
    await publish(1);
    detachFirst();
    await publish(2);
    expect(seqs(first)).toEqual([1]);
    expect(seqs(second)).toEqual([1, 2]);
    detachSecond();
    detachSecond();
    expect(feeds.subscriberCount('p')).toBe(0);
    expect(feeds.subscriberCount()).toBe(0);
  });

  it('drops a malformed message and reports it, without disturbing the feed', async () => {
    const { feeds, pubsub, publish, errors } = setup();
    const received: EventRecord[] = [];
    await feeds.subscribe('p', (received_) => received.push(received_));
    await pubsub.publish('events:p', { garbage: true } as never);
    await publish(1);
    expect(seqs(received)).toEqual([1]);
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
    const pending = stream.next();
    expect(await pending).toEqual({ value: 2, done: false });
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
