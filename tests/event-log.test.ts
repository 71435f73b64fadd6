import { describe, expect, it } from 'vitest';
import type { EventRecord, IngestJobEventRecord } from '../src/events/event-record.js';
import { createMemoryStateStore } from '../src/store/memory-state-store.js';
import { newEntityId } from '../src/store/entity-ids.js';
import { newEpoch } from '../src/store/epochs.js';
import { createRedisKeys } from '../src/store/redis-keys.js';
import { createRedisStateStore } from '../src/store/redis-state-store.js';
import type { AgentRunRecord } from '../src/store/records.js';
import type { AppendItem, PutMember, Retention, StateStore } from '../src/store/state-store.js';
import { VersionConflictError } from '../src/store/state-store.js';
import { deleteKeys, redisForTests } from './support/redis.js';

const { prefix, redis, cluster } = redisForTests('log');

/** A clock the test moves by hand, so retention by age needs no waiting. */
function manualClock(start = Date.UTC(2026, 0, 1)) {
  let time = start;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

type MakeStore = (retention: Retention, now: () => number) => StateStore;
let stores = 0;
const backends: Array<[string, MakeStore]> = [
  ['in-process', (retention, now) => createMemoryStateStore(retention, now)],
  ['Redis', (retention, now) => createRedisStateStore(redis, { prefix: `${prefix}${stores++}:`, retention, now })],
  ['Redis Cluster', (retention, now) => createRedisStateStore(cluster, { prefix: `${prefix}${stores++}:`, retention, now })],
];
/** Redis setups whose keys the tests look at directly. */
const redisSetups = [
  ['Redis', () => redis],
  ['Redis Cluster', () => cluster],
] as const;

async function createJob(store: StateStore, projectId: string, source = 's'): Promise<IngestJobEventRecord> {
  const at = new Date().toISOString();
  const id = newEntityId(projectId);
  const job = { id, projectId, source, status: 'PENDING' as const, progress: 0, createdAt: at, updatedAt: at };
  const [event] = await store.commit({
    kind: 'ingestJob',
    id,
    projectId,
    expectedVersion: 0,
    value: job,
    events: [{ type: 'INGEST_JOB_CREATED', projectId, occurredAt: at, job }],
  });
  return event as IngestJobEventRecord;
}

describe('log epochs', () => {
  it('are 6 random bytes each, none repeated across refills of their pool', () => {
    const epochs = Array.from({ length: 2000 }, () => newEpoch());
    for (const epoch of epochs) expect(Buffer.from(epoch, 'base64url')).toHaveLength(6);
    expect(new Set(epochs).size).toBe(epochs.length);
  });
});

describe.each(backends)('event log, %s', (_, makeStore) => {
  const unlimited = { maxEvents: 0, maxAgeMs: 0, finishedMs: 0 };

  it('appends each commit at the next position and reads it back in order, in pages', async () => {
    const store = makeStore(unlimited, Date.now);
    const head = await store.head('p');
    expect(head.seq).toBe(0);
    const appended = [];
    for (let index = 0; index < 7; index++) appended.push(await createJob(store, 'p', `source-${index}`));
    expect(appended.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(appended.map((event) => event.epoch))).toEqual(new Set([head.epoch]));

    const firstPage = await store.readLog('p', 0, 3);
    expect(firstPage).toMatchObject({ epoch: head.epoch, headSeq: 7, firstSeq: 1 });
    expect(firstPage.events).toEqual(appended.slice(0, 3));
    const secondPage = await store.readLog('p', 3, 10);
    expect(secondPage.events).toEqual(appended.slice(3));
    expect((await store.readLog('p', 7, 10)).events).toEqual([]);
  });

  it('gives every project its own epoch and positions', async () => {
    const store = makeStore(unlimited, Date.now);
    const a = await createJob(store, 'a');
    const b = await createJob(store, 'b');
    expect([a.seq, b.seq]).toEqual([1, 1]);
    expect(a.epoch).not.toBe(b.epoch);
  });

  it('appends nothing when the commit loses a version race', async () => {
    const store = makeStore(unlimited, Date.now);
    const created = await createJob(store, 'race');
    const job = created.job;
    await expect(
      store.commit({ kind: 'ingestJob', id: job.id, projectId: 'race', expectedVersion: 0, value: job, events: [] }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect((await store.readLog('race', 0, 10)).events).toHaveLength(1);
    expect((await store.head('race')).seq).toBe(1);
  });

  it('keeps at most maxEvents per project', async () => {
    const store = makeStore({ ...unlimited, maxEvents: 3 }, Date.now);
    for (let index = 0; index < 5; index++) await createJob(store, 'bounded');
    const page = await store.readLog('bounded', 0, 10);
    expect(page).toMatchObject({ headSeq: 5, firstSeq: 3 });
    expect(page.events.map((event) => event.seq)).toEqual([3, 4, 5]);
  });

  it('drops events older than maxAgeMs, also from a project that went quiet', async () => {
    const clock = manualClock();
    const store = makeStore({ ...unlimited, maxAgeMs: 60_000 }, clock.now);
    await createJob(store, 'aging');
    await createJob(store, 'aging');
    clock.advance(30_000);
    await createJob(store, 'aging');
    clock.advance(40_000);
    let page = await store.readLog('aging', 0, 10);
    expect(page).toMatchObject({ headSeq: 3, firstSeq: 3 });
    expect(page.events.map((event) => event.seq)).toEqual([3]);
    clock.advance(60_000);
    page = await store.readLog('aging', 0, 10);
    expect(page).toMatchObject({ headSeq: 3, firstSeq: 4, events: [] });
  });

  it('reads a snapshot together with the position it reflects', async () => {
    const store = makeStore(unlimited, Date.now);
    const empty = await store.snapshot('snap');
    expect(empty).toMatchObject({ position: { seq: 0 }, ingestJobs: [], agentRuns: [], workflowRuns: [] });
    const first = await createJob(store, 'snap', 'first');
    const second = await createJob(store, 'snap', 'second');
    const snapshot = await store.snapshot('snap');
    expect(snapshot.position).toEqual({ epoch: empty.position.epoch, seq: 2 });
    expect(snapshot.ingestJobs).toEqual([first.job, second.job]);
  });
});

const HOUR = 3_600_000;

function agentRunRecord(projectId: string, changes: Partial<AgentRunRecord> = {}): AgentRunRecord {
  const at = new Date().toISOString();
  return { id: newEntityId(projectId), projectId, agent: 'a', status: 'RUNNING', output: null, error: null, createdAt: at, updatedAt: at, stepCount: 0, messageCount: 0, ...changes };
}

describe.each(backends)('entity storage, %s', (_, makeStore) => {
  it('writes steps member by member and messages item by item, and reads them back in order', async () => {
    const store = makeStore({ maxEvents: 0, maxAgeMs: 0, finishedMs: 0 }, Date.now);
    const run = agentRunRecord('collections');
    const at = run.createdAt;
    const step = (id: string, index: number, status: 'RUNNING' | 'COMPLETED') => ({ id, index, name: id, status, startedAt: at, finishedAt: null });
    const message = (index: number) => ({ id: `m${index}`, index, role: 'ASSISTANT' as const, content: `message ${index}`, status: 'COMPLETE' as const, createdAt: at });
    let version = 0;
    const commit = (put: PutMember[], append: AppendItem[]) =>
      store.commit({ kind: 'agentRun', id: run.id, projectId: run.projectId, expectedVersion: version++, value: run, put, append, events: [] });
    await commit([{ collection: 'steps', key: 'plan', value: step('plan', 0, 'RUNNING') }], [{ collection: 'messages', value: message(0) }]);
    await commit([{ collection: 'steps', key: 'act', value: step('act', 1, 'RUNNING') }], [{ collection: 'messages', value: message(1) }]);
    await commit([{ collection: 'steps', key: 'plan', value: step('plan', 0, 'COMPLETED') }], [{ collection: 'messages', value: message(2) }]);

    expect((await store.members('steps', run.id)).map((member) => [member.id, member.status])).toEqual([
      ['plan', 'COMPLETED'],
      ['act', 'RUNNING'],
    ]);
    expect((await store.members('steps', run.id, ['act', 'missing'])).map((member) => member.id)).toEqual(['act']);
    expect((await store.items('messages', run.id, 0, 3)).map((item) => item.content)).toEqual(['message 0', 'message 1', 'message 2']);
    expect((await store.items('messages', run.id, 1, 2)).map((item) => item.index)).toEqual([1]);
    expect(await store.items('messages', run.id, 3, 10)).toEqual([]);
  });

  it('sends streamed text at once when the last delta is a window old, whatever the clock reads, and holds it within the window', async () => {
    // A clock at 0: a message with no delta yet must not read its window as starting there.
    const clock = manualClock(0);
    const store = makeStore({ maxEvents: 0, maxAgeMs: 0, finishedMs: 0 }, clock.now);
    const projectId = 'window-edge';
    const run = agentRunRecord(projectId, { messageCount: 1 });
    const message = { id: 'm0', index: 0, role: 'ASSISTANT' as const, content: '', status: 'STREAMING' as const, createdAt: run.createdAt };
    await store.commit({
      kind: 'agentRun', id: run.id, projectId, expectedVersion: 0, value: run,
      append: [{ collection: 'messages', value: message }],
      openStream: { messageId: message.id, message },
      events: [],
    });
    const occurredAt = run.createdAt;
    const append = (text: string) => store.appendContent(run.id, message.id, text, { projectId, maxLength: 100, windowMs: 50, occurredAt });
    const deltaOf = (event: EventRecord | undefined) => (event && 'messageDelta' in event ? event.messageDelta : undefined);
    const delta = (appended: Awaited<ReturnType<typeof append>>) => deltaOf('event' in appended ? appended.event : undefined);

    const first = await append('a');
    expect(delta(first)).toEqual({ messageId: 'm0', offset: 0, text: 'a' });
    expect('flushInMs' in first).toBe(false);
    clock.advance(20);
    // Within the window: held, and this caller is told to flush when the window ends.
    const second = await append('b');
    expect(delta(second)).toBeUndefined();
    expect(second).toMatchObject({ outcome: 'appended', flushInMs: 30 });
    clock.advance(5);
    // Another caller is flushing already: this one is told nothing.
    const third = await append('c');
    expect(delta(third)).toBeUndefined();
    expect('flushInMs' in third).toBe(false);
    expect(deltaOf(await store.flushContent(run.id, message.id, { projectId, occurredAt }))).toEqual({ messageId: 'm0', offset: 1, text: 'bc' });
    // A window after that delta: at once again.
    clock.advance(50);
    expect(delta(await append('d'))).toEqual({ messageId: 'm0', offset: 3, text: 'd' });
    expect((await store.readLog(projectId, 0, 10)).events.map((event) => deltaOf(event)?.text)).toEqual(['a', 'bc', 'd']);
  });

  it('keeps a finished entity, with its collections, for the retention and then removes it everywhere', async () => {
    const clock = manualClock(Date.now());
    const store = makeStore({ maxEvents: 0, maxAgeMs: 0, finishedMs: HOUR }, clock.now);
    const projectId = 'finishing';
    const running = agentRunRecord(projectId, { messageCount: 1 });
    const at = running.createdAt;
    await store.commit({
      kind: 'agentRun', id: running.id, projectId, expectedVersion: 0, value: running,
      append: [{ collection: 'messages', value: { id: 'm0', index: 0, role: 'USER', content: 'hello', status: 'COMPLETE', createdAt: at } }],
      put: [{ collection: 'steps', key: 's', value: { id: 's', index: 0, name: 's', status: 'COMPLETED', startedAt: at, finishedAt: at } }],
      events: [{ type: 'AGENT_RUN_CREATED', projectId, occurredAt: at, run: running }],
    });
    const live = agentRunRecord(projectId);
    await store.commit({
      kind: 'agentRun', id: live.id, projectId, expectedVersion: 0, value: live,
      events: [{ type: 'AGENT_RUN_CREATED', projectId, occurredAt: at, run: live }],
    });
    await store.commit({ kind: 'agentRun', id: running.id, projectId, expectedVersion: 1, value: { ...running, status: 'COMPLETED' }, finished: true, events: [] });

    clock.advance(HOUR - 1);
    expect((await store.list('agentRun', projectId)).map((run) => run.id)).toEqual([running.id, live.id]);
    expect((await store.get('agentRun', running.id))?.value.status).toBe('COMPLETED');

    clock.advance(1);
    expect(await store.get('agentRun', running.id)).toBeUndefined();
    expect((await store.list('agentRun', projectId)).map((run) => run.id)).toEqual([live.id]);
    expect((await store.snapshot(projectId)).agentRuns.map((run) => run.id)).toEqual([live.id]);
    expect(await store.items('messages', running.id, 0, 10)).toEqual([]);
    expect(await store.members('steps', running.id)).toEqual([]);
    expect((await store.get('agentRun', live.id))?.value.status).toBe('RUNNING');
  });
});

describe.each(redisSetups)('%s entity storage', (setup, client) => {
  const redis = client();
  const setupPrefix = `${prefix}${setup.replace(' ', '-')}:`;
  it('leaves no key of a removed entity behind, and gives Redis a TTL as a backstop', async () => {
    const clock = manualClock(Date.now());
    const keyPrefix = `${setupPrefix}purge:`;
    const store = createRedisStateStore(redis, { prefix: keyPrefix, retention: { maxEvents: 0, maxAgeMs: 0, finishedMs: HOUR }, now: clock.now });
    const run = agentRunRecord('purge', { messageCount: 1 });
    const message = { id: 'm0', index: 0, role: 'USER' as const, content: 'hi', status: 'COMPLETE' as const, createdAt: run.createdAt };
    await store.commit({ kind: 'agentRun', id: run.id, projectId: 'purge', expectedVersion: 0, value: run, append: [{ collection: 'messages', value: message }], events: [] });
    await store.commit({ kind: 'agentRun', id: run.id, projectId: 'purge', expectedVersion: 1, value: { ...run, status: 'FAILED' }, finished: true, events: [] });
    const keys = createRedisKeys(keyPrefix);
    const entityKey = keys.entity('agentRun', run.id);
    expect(await redis.pttl(entityKey)).toBeGreaterThan(HOUR - 60_000);
    expect(await redis.pttl(`${entityKey}:messages`)).toBeGreaterThan(HOUR - 60_000);
    expect(await redis.pttl(`${entityKey}:messages:sizes`)).toBeGreaterThan(HOUR - 60_000);

    clock.advance(HOUR);
    expect(await store.list('agentRun', 'purge')).toEqual([]);
    expect(await redis.exists(entityKey, `${entityKey}:messages`, `${entityKey}:messages:sizes`)).toBe(0);
    expect(await redis.zcard(keys.index('agentRun', 'purge'))).toBe(0);
    expect(await redis.zcard(keys.finished('purge'))).toBe(0);
  });

  it('refuses to commit an entity whose id puts it in another slot than its project', async () => {
    const store = createRedisStateStore(redis, { prefix: `${setupPrefix}slots:`, retention: { maxEvents: 0, maxAgeMs: 0, finishedMs: 0 } });
    const run = agentRunRecord('elsewhere');
    const commit = (projectId: string) => store.commit({ kind: 'agentRun', id: run.id, projectId, expectedVersion: 0, value: { ...run, projectId }, events: [] });
    await expect(commit('not-elsewhere')).rejects.toThrow(/was not made by newEntityId/);
    await expect(commit('elsewhere')).resolves.toEqual([]);
  });

  it('keeps a run\'s stored summary the same size however many messages it has', async () => {
    const store = createRedisStateStore(redis, { prefix: `${setupPrefix}size:`, retention: { maxEvents: 0, maxAgeMs: 0, finishedMs: 0 } });
    let run = agentRunRecord('size');
    const sizes: number[] = [];
    for (let index = 0; index < 200; index++) {
      const message = { id: `m${index}`, index, role: 'ASSISTANT' as const, content: 'x'.repeat(500), status: 'COMPLETE' as const, createdAt: run.createdAt };
      const next = { ...run, messageCount: index + 1 };
      await store.commit({ kind: 'agentRun', id: run.id, projectId: 'size', expectedVersion: index, value: next, append: [{ collection: 'messages', value: message }], events: [{ type: 'AGENT_MESSAGE_APPENDED', projectId: 'size', occurredAt: run.createdAt, run: next, message }] });
      run = next;
      if (index === 9 || index === 199) sizes.push(await redis.hstrlen(createRedisKeys(`${setupPrefix}size:`).entity('agentRun', run.id), 'd'));
    }
    expect(sizes[1]! - sizes[0]!).toBeLessThanOrEqual(2);
    const page = await store.readLog('size', 199, 1);
    expect(JSON.stringify(page.events[0]).length).toBeLessThan(500 + 1024);
  });
});

describe.each(redisSetups)('%s event log', (setup, client) => {
  const redis = client();
  const setupPrefix = `${prefix}${setup.replace(' ', '-')}:`;
  it('starts a new epoch when the project head is lost, so old cursors are recognisable', async () => {
    const store = createRedisStateStore(redis, { prefix: `${setupPrefix}loss:`, retention: { maxEvents: 0, maxAgeMs: 0, finishedMs: 0 } });
    const before = await createJob(store, 'lossy');
    await deleteKeys(redis, `${setupPrefix}loss:`);
    const after = await createJob(store, 'lossy');
    expect(after.seq).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
  });
});
