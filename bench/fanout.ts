/**
 * Fan-out benchmark: N WebSocket subscribers over P projects, a fixed publish rate through
 * the mutation path (HTTP mutation → commit → PubSub → every subscriber of the project).
 * Prints deliveries/s, publish→receive latency, lost and out-of-order events and server RSS.
 *
 *   npm run bench
 *   BENCH_SUBSCRIBERS=1000 BENCH_PROJECTS=10 BENCH_RATE=100 BENCH_SECONDS=10 BENCH_BACKEND=redis npm run bench
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { deleteKeys } from '../tests/support/redis.js';
import { startServerProcess } from './server-process.js';

const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const projects = Number(process.env.BENCH_PROJECTS ?? 10);
const rate = Number(process.env.BENCH_RATE ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const backend = process.env.BENCH_BACKEND ?? 'redis';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const now = () => performance.timeOrigin + performance.now();

async function call(url: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as { data?: any; errors?: unknown[] };
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

const STREAM = `subscription ($projectId: ID!) { ingestJob(projectId: $projectId) { cursor job { id message } } }`;
const PROGRESS = `mutation ($id: ID!, $progress: Float!, $message: String) {
  updateIngestJobProgress(id: $id, progress: $progress, message: $message) { id }
}`;

interface Subscriber {
  project: number;
  /** A probe arrived: the subscription is live. */
  probed: boolean;
  /** Measured events received. */
  received: number;
  /** Log position of the last event seen; a project's positions rise by one per event. */
  lastSeq: number;
  /** Events whose position did not follow the previous one: gaps, duplicates or reordering. */
  outOfOrder: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main() {
  const prefix = `rte-bench:${randomBytes(4).toString('hex')}:`;
  const server = await startServerProcess({
    REDIS_URL: backend === 'redis' ? redisUrl : '',
    REDIS_KEY_PREFIX: prefix,
  });
  const clients: Client[] = [];
  try {
    const projectIds = Array.from({ length: projects }, (_, index) => `bench-${index}`);
    const jobIds: string[] = [];
    for (const projectId of projectIds) {
      jobIds.push((await call(server.url, `mutation ($p: ID!) { createIngestJob(projectId: $p, source: "bench") { id } }`, { p: projectId })).createIngestJob.id);
    }

    const latencies = new Float64Array(Math.ceil(rate * seconds * (subscribers / projects) * 1.2) + 1000);
    let latencyCount = 0;
    const state: Subscriber[] = [];
    const wsUrl = server.url.replace(/^http/, 'ws');
    for (let batch = 0; batch < subscribers; batch += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, subscribers - batch) }, async (_, offset) => {
          const subscriber: Subscriber = { project: (batch + offset) % projects, probed: false, received: 0, lastSeq: -1, outOfOrder: 0 };
          state.push(subscriber);
          const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
          clients.push(client);
          await new Promise<void>((resolve) => client.on('connected', () => resolve()));
          client.subscribe<any>(
            { query: STREAM, variables: { projectId: projectIds[subscriber.project] } },
            {
              next: (result) => {
                const event = result.data?.ingestJob;
                const seq = Number(String(event.cursor).split(':')[1]);
                if (subscriber.lastSeq !== -1 && seq !== subscriber.lastSeq + 1) subscriber.outOfOrder++;
                subscriber.lastSeq = seq;
                const [sentAt, counter] = String(event.job.message).split('|');
                if (counter === undefined) {
                  subscriber.probed = true;
                  return;
                }
                const receivedAt = now();
                subscriber.received++;
                if (latencyCount < latencies.length) latencies[latencyCount++] = receivedAt - Number(sentAt);
              },
              error: (error) => console.error('subscription error', error),
              complete: () => {},
            },
          );
        }),
      );
    }
    // Ready once every subscriber has received a probe published after it subscribed.
    const probeDeadline = Date.now() + 30_000;
    while (state.some((subscriber) => !subscriber.probed)) {
      if (Date.now() > probeDeadline) throw new Error('subscribers did not all go live within 30 s');
      await Promise.all(jobIds.map((id) => call(server.url, PROGRESS, { id, progress: 0, message: 'probe' })));
      await sleep(50);
    }

    const perProject = projectIds.map((_, project) => state.filter((subscriber) => subscriber.project === project).length);
    const counters = new Array<number>(projects).fill(0);
    let published = 0;
    let failed = 0;
    const inFlight = new Set<Promise<unknown>>();
    const cpuBefore = server.cpuMs();
    const start = now();
    const interval = 1000 / rate;
    for (let index = 0; index < rate * seconds; index++) {
      const due = start + index * interval;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      const project = index % projects;
      const message = `${now()}|${counters[project]!++}`;
      const sent = call(server.url, PROGRESS, { id: jobIds[project], progress: (index % 100) / 100, message }).then(
        () => published++,
        () => failed++,
      );
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }
    await Promise.all(inFlight);
    const publishEnd = now();
    const expected = counters.reduce((sum, count, project) => sum + count * perProject[project]!, 0);
    const drainDeadline = Date.now() + 10_000;
    const receivedTotal = () => state.reduce((sum, subscriber) => sum + subscriber.received, 0);
    while (receivedTotal() < expected && Date.now() < drainDeadline) await sleep(20);
    const end = now();
    const cpuMs = server.cpuMs() - cpuBefore;
    const received = receivedTotal();

    const sorted = latencies.slice(0, latencyCount).sort();
    const memory = server.memory();
    const rows: Array<[string, string]> = [
      ['backend', backend === 'redis' ? `Redis (${redisUrl})` : 'in-process'],
      ['subscribers / projects', `${subscribers} / ${projects}`],
      ['publish rate (mutations/s)', `${rate} for ${seconds} s → ${published} accepted, ${failed} failed`],
      ['deliveries expected / received', `${expected} / ${received}`],
      ['lost events', String(expected - received)],
      ['events out of log order (gaps, duplicates)', String(state.reduce((sum, subscriber) => sum + subscriber.outOfOrder, 0))],
      ['deliveries/s', (received / ((end - start) / 1000)).toFixed(0)],
      ['publish→receive p50 / p95 / p99 (ms)', [50, 95, 99].map((p) => percentile(sorted, p).toFixed(1)).join(' / ')],
      ['publish→receive max (ms)', (sorted[sorted.length - 1] ?? NaN).toFixed(1)],
      ['drain after last publish (ms)', (end - publishEnd).toFixed(0)],
      ['server CPU per delivery (µs)', ((cpuMs * 1000) / Math.max(1, received)).toFixed(1)],
      ['server RSS now / peak (MiB)', `${memory.rssMiB.toFixed(0)} / ${memory.peakRssMiB.toFixed(0)}`],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(`\nFan-out through the mutation path, ${new Date().toISOString()}`);
    for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
    if (expected !== received) process.exitCode = 1;
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.stop();
    if (backend === 'redis') {
      const redis = new Redis(redisUrl);
      await deleteKeys(redis, prefix);
      await redis.quit();
    }
  }
}

await main();
