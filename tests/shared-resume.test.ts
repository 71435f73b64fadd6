import type { Client } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { RecordedSubscription } from './support/clients.js';
import { connectWebSocket, mutate, request, subscribeOverSse, subscribeOverWebSocket } from './support/clients.js';
import { COMPLETE_JOB, CREATE_JOB, INGEST_JOB_STREAM, UPDATE_PROGRESS, cursorSeq } from './support/operations.js';
import { redisForTests } from './support/redis.js';
import type { Backend } from './support/servers.js';
import { createAppPool, testConfig } from './support/servers.js';
import { createTeardown } from './support/teardown.js';
import { waitFor } from './support/wait-for.js';

const { prefix } = redisForTests('seam');
const pool = createAppPool();
const teardown = createTeardown();

type JobEvent = { ingestJob: { cursor: string; type: string; job: { id: string; message: string | null } } };

/** A small seeded generator, so a failing run can be repeated with SEAM_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function connect(app: App): Client {
  const client = connectWebSocket(app.url);
  teardown.push(() => client.dispose());
  return client;
}

describe.each<Backend>(['memory', 'redis'])('resuming into a shared audience, %s backend', (backend) => {
  it('replays privately, then continues with the audience with no gap, no repeat and in order, while publishing goes on', async () => {
    const seed = Number(process.env.SEAM_SEED ?? Math.floor(Math.random() * 1_000_000));
    const next = random(seed);
    const config = testConfig(backend, prefix);
    const app = await pool.start(config);
    teardown.push(() => pool.stopAll());
    // On Redis the audience's producer is another instance: events reach this one over Redis.
    const producer = backend === 'redis' ? await pool.start(config) : app;
    const projectId = `seam-${backend}-${seed}`;
    const jobs = await Promise.all(
      ['a', 'b', 'c'].map(async (source) => (await mutate(producer.url, CREATE_JOB, { projectId, source })).createIngestJob),
    );

    const anchor = subscribeOverWebSocket<JobEvent>(connect(app), INGEST_JOB_STREAM, { projectId });
    teardown.push(() => anchor.dispose());
    await waitFor(() => app.audienceCount() === 1, { what: 'the audience' });

    // Four publishers at once, so events also cross on their way between instances.
    const total = 240;
    let sent = 0;
    const publishing = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (sent < total) {
          const index = sent++;
          await mutate(producer.url, UPDATE_PROGRESS, { id: jobs[index % jobs.length]!.id, progress: index / 1000, message: String(index) });
        }
      }),
    );

    const resumers: Array<{ after: string; transport: string; subscription: RecordedSubscription<JobEvent> }> = [];
    for (let index = 0; index < 16; index++) {
      // Join at a random point of the publishing, from a random kind of cursor.
      const threshold = Math.min(total, Math.floor(next() * total * 0.8));
      await anchor.waitForResults(threshold, 20_000);
      const kind = next();
      let after: string;
      if (kind < 0.5 && anchor.results.length > 0) {
        after = anchor.results[Math.floor(next() * anchor.results.length)]!.ingestJob.cursor;
      } else if (kind < 0.8) {
        // The producer's head: on Redis it can be ahead of what this instance delivered.
        after = (await request<any>(producer.url, `query ($p: ID!) { projectSnapshot(projectId: $p) { cursor } }`, { p: projectId }))
          .data.projectSnapshot.cursor;
      } else {
        after = `${anchor.results[0]?.ingestJob.cursor.split(':')[0] ?? ''}:0`;
        if (after.startsWith(':')) continue;
      }
      const overSse = next() < 0.3;
      const subscription = overSse
        ? subscribeOverSse<JobEvent>(app.url, INGEST_JOB_STREAM, { projectId, after })
        : subscribeOverWebSocket<JobEvent>(connect(app), INGEST_JOB_STREAM, { projectId, after });
      teardown.push(() => subscription.dispose());
      resumers.push({ after, transport: overSse ? 'sse' : 'ws', subscription });
    }
    await publishing;
    await waitFor(() => app.subscriberCount() === resumers.length + 1, { what: 'every resumer to join', timeoutMs: 20_000 });
    // Every resumer ended up in the one audience.
    expect(app.audienceCount()).toBe(1);

    // The marker is the last event: once it arrived, nothing else can be on its way.
    await mutate(producer.url, COMPLETE_JOB, { id: jobs[0]!.id });
    const isMarker = (result: JobEvent) => result.ingestJob.type === 'INGEST_JOB_COMPLETED';
    for (const { after, transport, subscription } of resumers) {
      await waitFor(() => subscription.results.some(isMarker) || subscription.errors.length > 0, {
        what: `the marker on a ${transport} resumer after ${after} (seed ${seed})`,
        timeoutMs: 20_000,
      });
      expect(subscription.errors, `seed ${seed}`).toEqual([]);
      const positions = subscription.results.map((result) => cursorSeq(result.ingestJob.cursor));
      const last = positions.at(-1)!;
      const from = cursorSeq(after) + 1;
      expect(positions, `${transport} resumer after ${after}, seed ${seed}`).toEqual(
        Array.from({ length: last - from + 1 }, (_, offset) => from + offset),
      );
    }
    await waitFor(() => anchor.results.some(isMarker), { what: 'the marker on the anchor' });
    const anchorPositions = anchor.results.map((result) => cursorSeq(result.ingestJob.cursor));
    expect(anchorPositions).toEqual(anchorPositions.map((_, offset) => anchorPositions[0]! + offset));
  }, 60_000);
});
