import { describe, expect, it } from 'vitest';
import type { IngestJobEventRecord } from '../src/events/event-record.js';
import { createMemoryStateStore } from '../src/store/memory-state-store.js';
import { createRedisStateStore } from '../src/store/redis-state-store.js';
import type { LogRetention, StateStore } from '../src/store/state-store.js';
import { VersionConflictError } from '../src/store/state-store.js';
import { deleteKeys, redisForTests } from './support/redis.js';

const { prefix, redis } = redisForTests('log');

/** A clock the test moves by hand, so retention by age needs no waiting. */
function manualClock(start = Date.UTC(2026, 0, 1)) {
  let time = start;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

type MakeStore = (retention: LogRetention, now: () => number) => StateStore;
let stores = 0;
const backends: Array<[string, MakeStore]> = [
  ['in-process', (retention, now) => createMemoryStateStore(retention, now)],
  ['Redis', (retention, now) => createRedisStateStore(redis, { prefix: `${prefix}${stores++}:`, retention, now })],
];

let jobs = 0;
async function createJob(store: StateStore, projectId: string, source = 's'): Promise<IngestJobEventRecord> {
  const at = new Date().toISOString();
  const id = `job-${++jobs}`;
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

describe.each(backends)('event log, %s', (_, makeStore) => {
  const unlimited = { maxEvents: 0, maxAgeMs: 0 };

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
    const store = makeStore({ maxEvents: 3, maxAgeMs: 0 }, Date.now);
    for (let index = 0; index < 5; index++) await createJob(store, 'bounded');
    const page = await store.readLog('bounded', 0, 10);
    expect(page).toMatchObject({ headSeq: 5, firstSeq: 3 });
    expect(page.events.map((event) => event.seq)).toEqual([3, 4, 5]);
  });

  it('drops events older than maxAgeMs, also from a project that went quiet', async () => {
    const clock = manualClock();
    const store = makeStore({ maxEvents: 0, maxAgeMs: 60_000 }, clock.now);
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

describe('Redis event log', () => {
  it('starts a new epoch when the project head is lost, so old cursors are recognisable', async () => {
    const store = createRedisStateStore(redis, { prefix: `${prefix}loss:`, retention: { maxEvents: 0, maxAgeMs: 0 } });
    const before = await createJob(store, 'lossy');
    await deleteKeys(redis, `${prefix}loss:`);
    const after = await createJob(store, 'lossy');
    expect(after.seq).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
  });
});
