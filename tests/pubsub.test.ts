import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../src/events/event-record.js';
import type { PubSub } from '../src/events/pubsub.js';
import { createMemoryPubSub, createRedisPubSub, createShardedRedisPubSub, projectChannel } from '../src/events/pubsub.js';
import { Cluster, Redis } from 'ioredis';
import { REDIS_URL, channelSubscribers, clusterNodes, createCluster, createRedis, deleteKeys, uniquePrefix } from './support/redis.js';
import pino from 'pino';
import { createBackend } from '../src/backend.js';
import { createMetrics } from '../src/observability/metrics.js';
import { newEntityId } from '../src/store/entity-ids.js';
import { BACKENDS, testConfig } from './support/servers.js';
import { waitFor } from './support/wait-for.js';

function event(projectId: string, seq: number): EventRecord {
  const at = new Date(0).toISOString();
  return {
    type: 'INGEST_JOB_CREATED',
    projectId,
    seq,
    epoch: 'e1',
    occurredAt: at,
    job: {
      id: `job-${seq}`,
      projectId,
      source: 's3://bucket',
      status: 'PENDING',
      progress: 0,
      createdAt: at,
      updatedAt: at,
    },
  };
}

interface Setup {
  pubsub: PubSub;
  /** The channel of a project's events on this backend. */
  channel(projectId: string): string;
  /** A publisher that is not the subscriber's own connection, as another instance would be. */
  publish(channel: string, message: EventRecord): Promise<void>;
}

const prefix = uniquePrefix('pubsub');
const clients: Array<Redis | Cluster> = [];
/** A subscriber as the server makes it: one sharded subscriber connection per master. */
const shardedSubscriber = () => new Cluster(clusterNodes(), { shardedSubscribers: true });
afterAll(async () => {
  const cleaner = createRedis();
  await deleteKeys(cleaner, prefix);
  await Promise.all([...clients, cleaner].map((client) => client.quit()));
});

const backends: Array<[string, () => Setup]> = [
  [
    'in-process',
    () => {
      const pubsub = createMemoryPubSub();
      return { pubsub, channel: (projectId) => projectChannel(prefix, projectId), publish: (channel, message) => pubsub.publish(channel, message) };
    },
  ],
  [
    'Redis',
    () => {
      const publisher = createRedis();
      const subscriber = createRedis();
      const otherInstance = createRedis();
      clients.push(publisher, subscriber, otherInstance);
      return {
        pubsub: createRedisPubSub({ publisher, subscriber }),
        channel: (projectId) => projectChannel(prefix, projectId),
        publish: async (channel, message) => {
          await otherInstance.publish(channel, JSON.stringify(message));
        },
      };
    },
  ],
  [
    'Redis Cluster',
    () => {
      const publisher = createCluster();
      const subscriber = shardedSubscriber();
      const otherInstance = createCluster();
      clients.push(publisher, subscriber, otherInstance);
      return {
        pubsub: createShardedRedisPubSub({ publisher, subscriber }),
        channel: (projectId) => projectChannel(prefix, projectId, true),
        publish: async (channel, message) => {
          await otherInstance.spublish(channel, JSON.stringify(message));
        },
      };
    },
  ],
];

describe.each(backends)('PubSub over the %s backend', (name, setup) => {
  let backend: Setup;
  beforeAll(() => {
    backend = setup();
  });

  it('delivers a message published right after subscribe resolves', async () => {
    const channel = backend.channel(`${name}-ready`);
    const received: unknown[] = [];
    const id = await backend.pubsub.subscribe(channel, (message) => received.push(message));
    await backend.publish(channel, event('p', 1));
    await waitFor(() => received.length === 1, { what: 'the first message' });
    expect(received[0]).toEqual(event('p', 1));
    backend.pubsub.unsubscribe(id);
  });

  it('delivers messages in publish order to every subscriber of a channel', async () => {
    const channel = backend.channel(`${name}-order`);
    const first: unknown[] = [];
    const second: unknown[] = [];
    const ids = await Promise.all([
      backend.pubsub.subscribe(channel, (message) => first.push(message)),
      backend.pubsub.subscribe(channel, (message) => second.push(message)),
    ]);
    for (let seq = 1; seq <= 50; seq++) await backend.publish(channel, event('p', seq));
    await waitFor(() => first.length === 50 && second.length === 50, { what: '50 messages each' });
    const expected = Array.from({ length: 50 }, (_, index) => event('p', index + 1));
    expect(first).toEqual(expected);
    expect(second).toEqual(expected);
    ids.forEach((id) => backend.pubsub.unsubscribe(id));
  });

  it('keeps channels apart', async () => {
    const channelA = backend.channel(`${name}-a`);
    const channelB = backend.channel(`${name}-b`);
    const onA: EventRecord[] = [];
    const onB: EventRecord[] = [];
    const idA = await backend.pubsub.subscribe(channelA, (message) => onA.push(message as EventRecord));
    const idB = await backend.pubsub.subscribe(channelB, (message) => onB.push(message as EventRecord));
    await backend.publish(channelA, event('a', 1));
    await backend.publish(channelB, event('b', 1));
    await waitFor(() => onA.length === 1 && onB.length === 1, { what: 'one message per channel' });
    expect(onA.map((message) => message.projectId)).toEqual(['a']);
    expect(onB.map((message) => message.projectId)).toEqual(['b']);
    backend.pubsub.unsubscribe(idA);
    backend.pubsub.unsubscribe(idB);
  });

  it('stops delivering after unsubscribe', async () => {
    const channel = backend.channel(`${name}-unsubscribe`);
    const gone: unknown[] = [];
    const kept: unknown[] = [];
    const goneId = await backend.pubsub.subscribe(channel, (message) => gone.push(message));
    const keptId = await backend.pubsub.subscribe(channel, (message) => kept.push(message));
    backend.pubsub.unsubscribe(goneId);
    await backend.publish(channel, event('p', 1));
    await waitFor(() => kept.length === 1, { what: 'the kept subscriber to receive' });
    expect(gone).toEqual([]);
    backend.pubsub.unsubscribe(keptId);
  });
});

describe('Redis PubSub', () => {
  it('reports an unsubscribe cut off by a closing connection, instead of leaving it unhandled', async () => {
    const publisher = createRedis();
    const subscriber = new Redis(REDIS_URL, { retryStrategy: () => null });
    clients.push(publisher);
    const failures: unknown[] = [];
    const pubsub = createRedisPubSub({ publisher, subscriber, onError: (error) => failures.push(error) });
    const id = await pubsub.subscribe(projectChannel(prefix, 'cut-off'), () => {});
    // The connection is gone when the last subscriber leaves, as when Redis drops it.
    const ended = new Promise((resolve) => subscriber.once('end', resolve));
    subscriber.disconnect();
    await ended;
    pubsub.unsubscribe(id);
    await waitFor(() => failures.length > 0, { what: 'the failed unsubscribe to be reported' });
    expect(String(failures[0])).toContain('Connection is closed');
  });

  it.each([
    ['Redis', () => ({ publisher: createRedis(), subscriber: createRedis(), observer: createRedis() })],
    ['Redis Cluster', () => ({ publisher: createCluster(), subscriber: shardedSubscriber(), observer: createCluster() })],
  ])('holds one %s subscription per channel and releases it when the last subscriber leaves', async (_, connect) => {
    const { publisher, subscriber, observer } = connect();
    clients.push(publisher, subscriber, observer);
    const sharded = publisher instanceof Cluster;
    const pubsub = sharded
      ? createShardedRedisPubSub({ publisher, subscriber: subscriber as Cluster })
      : createRedisPubSub({ publisher, subscriber: subscriber as Redis });
    const channel = projectChannel(prefix, 'release', sharded);
    const count = async () => (await channelSubscribers(observer, prefix))[channel] ?? 0;
    const ids = await Promise.all([pubsub.subscribe(channel, () => {}), pubsub.subscribe(channel, () => {})]);
    expect(await count()).toBe(1);
    pubsub.unsubscribe(ids[0]!);
    expect(await count()).toBe(1);
    pubsub.unsubscribe(ids[1]!);
    await waitFor(async () => (await count()) === 0, { what: 'NUMSUB to reach 0' });
  });
});

describe.each(BACKENDS)('the %s backend', (kind) => {
  const backendPrefix = `${prefix}backend-${kind}:`;
  let backend: ReturnType<typeof createBackend>;
  beforeAll(async () => {
    backend = createBackend(testConfig(kind, backendPrefix), pino({ level: 'silent' }), createMetrics());
    await backend.connect();
  });
  afterAll(async () => {
    if (kind !== 'memory') {
      const cleaner = kind === 'cluster' ? createCluster() : createRedis();
      await deleteKeys(cleaner, backendPrefix);
      await cleaner.quit();
    }
    await backend.close();
  });

  it('publishes each event its store logs, as the record readers get, with no publish of its own', async () => {
    const projectId = `announced-${kind}`;
    const heard: EventRecord[] = [];
    const subscription = await backend.pubsub.subscribe(backend.channelFor(projectId), (message) => heard.push(message as EventRecord));
    const { store } = backend;
    const at = new Date().toISOString();
    const run = { id: newEntityId(projectId), projectId, agent: 'a', status: 'RUNNING' as const, output: null, error: null, createdAt: at, updatedAt: at, stepCount: 0, messageCount: 1 };
    const message = { id: 'm1', index: 0, role: 'ASSISTANT' as const, content: '', status: 'STREAMING' as const, createdAt: at };
    const committed = await store.commit({
      kind: 'agentRun',
      id: run.id,
      projectId,
      expectedVersion: 0,
      value: run,
      append: [{ collection: 'messages', value: message }],
      openStream: { messageId: message.id, message },
      events: [
        { type: 'AGENT_RUN_CREATED', projectId, occurredAt: at, run },
        { type: 'AGENT_MESSAGE_APPENDED', projectId, occurredAt: at, run, message },
      ],
    });
    // With no window the text goes out in the step that stores it, and nothing is left to flush.
    const appended = await store.appendContent(run.id, message.id, 'Hello, "world" é', { projectId, maxLength: 100, windowMs: 0, occurredAt: at });
    expect(appended).toMatchObject({ outcome: 'appended', event: { type: 'AGENT_MESSAGE_DELTA', messageDelta: { offset: 0, text: 'Hello, "world" é' } } });
    expect(await store.flushContent(run.id, message.id, { projectId, occurredAt: at })).toBeUndefined();
    const delta = 'event' in appended ? appended.event : undefined;
    const logged = [...committed, delta!];
    await waitFor(() => heard.length === logged.length, { what: 'every logged event on the channel' });
    expect(heard).toEqual(logged);
    expect(heard.map((event) => event.seq)).toEqual([1, 2, 3]);
    expect((await store.readLog(projectId, 0, 10)).events).toEqual(logged);
    backend.pubsub.unsubscribe(subscription);
  });
});
