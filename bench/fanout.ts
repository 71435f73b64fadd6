/**
 * Fan-out benchmark, side by side in one run with the same load generator and the client
 * library's own subscription document (client/src/operations.ts `IngestJobStream`):
 *   - plain: this server, subscribers without a cursor,
 *   - after: each subscriber loads `projectSnapshot` and subscribes after its cursor, as every
 *     hook in client/ does,
 *   - auth: as `after`, with authentication on and a token of its own per subscriber (its own
 *     subject and project list, all including the watched project),
 *   - sse: as `after`, over GraphQL over SSE (graphql-sse, distinct connections),
 *   - sse-lean: as `sse`, each stream read with node:http instead of graphql-sse's fetch, to
 *     tell the server's cost from the load generator's,
 *   - per-subscriber: plain, with FANOUT=per-subscriber (every subscriber executes every event),
 *   - plain-ws: plain, with bare WebSockets on /api/stream/projects/{projectId} (no GraphQL
 *     client; every field of each event, as plain JSON),
 *   - ceiling: a raw `ws` broadcast of a pre-serialised frame of the same size, no GraphQL.
 * N subscribers over P projects; publishing goes through HTTP mutations.
 * Prints deliveries/s at saturation, publish→receive latency at a fixed rate, server CPU per
 * delivery, RSS per 1,000 connections, lost or out-of-order events, and ratios to the ceiling.
 *
 *   npm run bench
 *   BENCH_SUBSCRIBERS=1000 BENCH_PROJECTS=10 BENCH_RATE=100 BENCH_SECONDS=5 BENCH_PUBLISHERS=16 npm run bench
 *   BENCH_QUICK=1 npm run bench          (200 subscribers, 2 s per phase)
 *   BENCH_ONLY=after,sse,ceiling npm run bench
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { print } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { IngestJobStream, ProjectSnapshotQuery } from '../client/src/operations.js';
import { deleteKeys } from '../tests/support/redis.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import type { ServerProcess } from './server-process.js';
import { startServerProcess } from './server-process.js';

const quick = process.env.BENCH_QUICK === '1';
const subscriberCount = Number(process.env.BENCH_SUBSCRIBERS ?? (quick ? 200 : 1000));
const projectCount = Number(process.env.BENCH_PROJECTS ?? 10);
const rate = Number(process.env.BENCH_RATE ?? (quick ? 100 : 100));
const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 2 : 5));
const publishers = Number(process.env.BENCH_PUBLISHERS ?? 16);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const only = process.env.BENCH_ONLY?.split(',');
/** Share of subscribers that stop reading once live: the slow-consumer scenario. */
const slowPercent = Number(process.env.BENCH_SLOW_PERCENT ?? 0);

const now = () => performance.timeOrigin + performance.now();

const CREATE = `mutation ($p: ID!) { createIngestJob(projectId: $p, source: "bench") { id } }`;
const PROGRESS = `mutation ($id: ID!, $progress: Float!, $message: String) {
  updateIngestJobProgress(id: $id, progress: $progress, message: $message) { id }
}`;
/** What users send: the client library's documents, printed from their typed nodes. */
const STREAM = print(IngestJobStream);
const SNAPSHOT = print(ProjectSnapshotQuery);

async function call(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<any> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const result = (await response.json()) as { data?: any; errors?: unknown[] };
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

interface Subscriber {
  project: number;
  /** Stops reading once live; left out of the delivery counts. */
  slow: boolean;
  disconnected: boolean;
  probed: boolean;
  received: number;
  lastSeq: number;
  outOfOrder: number;
}

interface Scenario {
  /** What BENCH_ONLY names it by. */
  id: string;
  name: string;
  start(): Promise<ServerProcess>;
  /** `ws-plain`: a bare WebSocket on the plain stream of the project. */
  transport: 'ws' | 'sse' | 'sse-lean' | 'ws-plain';
  /** Subscribe after a `projectSnapshot` cursor, as the client hooks do. */
  afterSnapshot: boolean;
  /** A token per subscriber, and one for the publishers. */
  auth: boolean;
}

interface Result {
  name: string;
  saturation: number;
  p50: number;
  p99: number;
  lost: number;
  outOfOrder: number;
  cpuMicrosPerDelivery: number;
  rssPer1000: number;
  peakRssMiB: number;
  slowDisconnected: number;
}

const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

async function measure(scenario: Scenario, server: ServerProcess): Promise<Result> {
  const { name } = scenario;
  const clients: Array<{ dispose(): unknown }> = [];
  const publisherToken = scenario.auth ? await signToken({ sub: 'bench-publisher', projects: ['*'], expiresIn: 3600 }) : undefined;
  try {
    const jobIds: string[] = [];
    for (let project = 0; project < projectCount; project++) {
      jobIds.push((await call(server.url, CREATE, { p: `bench-${project}` }, publisherToken)).createIngestJob.id);
    }
    const rssBefore = server.memory().rssMiB;

    let recording: Float64Array | undefined;
    let recorded = 0;
    let windowStart = Infinity;
    let windowEnd = Infinity;
    let inWindow = 0;
    const state: Subscriber[] = [];
    const sockets = new Map<Subscriber, WebSocket>();
    const wsUrl = server.url.replace(/^http/, 'ws');
    for (let batch = 0; batch < subscriberCount; batch += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, subscriberCount - batch) }, async (_, offset) => {
          const position = batch + offset;
          const slow = slowPercent > 0 && position % Math.round(100 / slowPercent) === 0;
          const subscriber: Subscriber = { project: position % projectCount, slow, disconnected: false, probed: false, received: 0, lastSeq: -1, outOfOrder: 0 };
          state.push(subscriber);
          const projectId = `bench-${subscriber.project}`;
          // Its own subject and project list, every one including the watched project.
          const token = scenario.auth
            ? await signToken({ sub: `bench-user-${position}`, projects: [projectId, `own-${position}`, `team-${position % 7}`], scope: 'events:read', expiresIn: 3600 })
            : undefined;
          let after: string | null = null;
          if (scenario.afterSnapshot) {
            after = (await call(server.url, SNAPSHOT, { projectId }, token)).projectSnapshot.cursor as string;
            subscriber.lastSeq = Number(after.split(':')[1]);
          }
          const variables = { projectId, jobId: null, after };
          const sink = {
            next: (result: { data?: any }) => {
              const receivedAt = now();
              const event = result.data.ingestJob;
              const seq = Number(String(event.cursor).split(':')[1]);
              if (subscriber.lastSeq !== -1 && seq !== subscriber.lastSeq + 1) subscriber.outOfOrder++;
              subscriber.lastSeq = seq;
              const [sentAt, counter] = String(event.job.message).split('|');
              if (counter === undefined) {
                subscriber.probed = true;
                return;
              }
              if (subscriber.slow) return;
              subscriber.received++;
              if (receivedAt >= windowStart && receivedAt <= windowEnd) inWindow++;
              if (recording && recorded < recording.length) recording[recorded++] = receivedAt - Number(sentAt);
            },
            error: () => {},
            complete: () => {},
          };
          if (scenario.transport === 'ws-plain') {
            const path = `/api/stream/projects/${projectId}${after ? `?after=${after}` : ''}`;
            const socket = new WebSocket(new URL(path, wsUrl));
            if (token) throw new Error('plain streams are measured without authentication');
            clients.push({ dispose: () => socket.terminate() });
            socket.on('message', (data) => sink.next({ data: { ingestJob: JSON.parse(String(data)) } }));
            socket.on('close', () => void (subscriber.disconnected = true));
            await once(socket, 'open');
            if (slow) sockets.set(subscriber, socket);
            return;
          }
          if (scenario.transport === 'sse-lean') {
            // The same request graphql-sse sends, read with node:http and split on blank lines:
            // what the server writes, without a fetch stream per subscriber in the load generator.
            const body = JSON.stringify({ query: STREAM, variables });
            const request = httpRequest(server.url, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                accept: 'text/event-stream',
                'content-length': Buffer.byteLength(body),
                ...(token ? { authorization: `Bearer ${token}` } : {}),
              },
            });
            clients.push({ dispose: () => request.destroy() });
            request.on('error', () => void (subscriber.disconnected = true));
            request.on('response', (response) => {
              let pending = '';
              response.setEncoding('utf8');
              response.on('data', (chunk: string) => {
                pending += chunk;
                let end: number;
                while ((end = pending.indexOf('\n\n')) !== -1) {
                  const frame = pending.slice(0, end);
                  pending = pending.slice(end + 2);
                  const data = frame.startsWith('event: next\ndata: ') ? frame.slice('event: next\ndata: '.length) : undefined;
                  if (data) sink.next(JSON.parse(data));
                }
              });
              response.on('close', () => void (subscriber.disconnected = true));
            });
            request.end(body);
            return;
          }
          if (scenario.transport === 'sse') {
            const client = createSseClient({
              url: server.url,
              singleConnection: false,
              retryAttempts: 0,
              headers: token ? { authorization: `Bearer ${token}` } : {},
            });
            clients.push(client);
            client.subscribe({ query: STREAM, variables }, { ...sink, error: () => void (subscriber.disconnected = true) });
            return;
          }
          const client: Client = createClient({
            url: wsUrl,
            webSocketImpl: WebSocket,
            lazy: false,
            retryAttempts: 0,
            connectionParams: token ? { authorization: `Bearer ${token}` } : {},
            onNonLazyError: () => {},
            on: {
              connected: (socket) => {
                if (slow) sockets.set(subscriber, socket as WebSocket);
              },
              closed: () => void (subscriber.disconnected = true),
            },
          });
          clients.push(client);
          await new Promise<void>((resolve) => client.on('connected', () => resolve()));
          client.subscribe<any>({ query: STREAM, variables }, sink);
        }),
      );
    }
    const deadline = Date.now() + 30_000;
    while (state.some((subscriber) => !subscriber.probed)) {
      if (Date.now() > deadline) throw new Error(`${name}: subscribers did not all go live within 30 s`);
      await Promise.all(jobIds.map((id) => call(server.url, PROGRESS, { id, progress: 0, message: 'probe' }, publisherToken)));
      await sleep(50);
    }
    const rssPer1000 = ((server.memory().rssMiB - rssBefore) / subscriberCount) * 1000;
    // The slow ones stop reading now: their kernel buffers fill, then the server's budget.
    for (const socket of sockets.values()) (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const fast = state.filter((subscriber) => !subscriber.slow);
    const perProject = jobIds.map((_, project) => fast.filter((subscriber) => subscriber.project === project).length);
    const counters = new Array<number>(projectCount).fill(0);
    const publish = (index: number) => {
      const project = index % projectCount;
      return call(
        server.url,
        PROGRESS,
        { id: jobIds[project], progress: (index % 100) / 100, message: `${now()}|${counters[project]!++}` },
        publisherToken,
      );
    };

    // Latency at a fixed rate.
    recording = new Float64Array(Math.ceil(rate * seconds * (subscriberCount / projectCount)) + 1000);
    const start = now();
    const inFlight: Array<Promise<unknown>> = [];
    for (let index = 0; index < rate * seconds; index++) {
      const wait = start + (index * 1000) / rate - now();
      if (wait > 1) await sleep(wait);
      inFlight.push(publish(index));
    }
    await Promise.all(inFlight);
    const sorted = recording.slice(0, recorded).sort();
    recording = undefined;

    // Saturation: `publishers` loops publishing back to back.
    const cpuBefore = server.cpuMs();
    windowStart = now();
    windowEnd = windowStart + seconds * 1000;
    let index = rate * seconds;
    await Promise.all(
      Array.from({ length: publishers }, async () => {
        while (now() < windowEnd) await publish(index++);
      }),
    );
    const cpuMs = server.cpuMs() - cpuBefore;
    const saturation = inWindow / seconds;

    const expected = counters.reduce((sum, count, project) => sum + count * perProject[project]!, 0);
    const received = () => fast.reduce((sum, subscriber) => sum + subscriber.received, 0);
    const drainDeadline = Date.now() + 20_000;
    while (received() < expected && Date.now() < drainDeadline) await sleep(50);
    return {
      name,
      saturation,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      lost: expected - received(),
      outOfOrder: fast.reduce((sum, subscriber) => sum + subscriber.outOfOrder, 0),
      slowDisconnected: state.filter((subscriber) => subscriber.slow && subscriber.disconnected).length,
      cpuMicrosPerDelivery: (cpuMs * 1000) / Math.max(1, inWindow),
      rssPer1000,
      peakRssMiB: server.memory().peakRssMiB,
    };
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.stop();
  }
}

async function main() {
  const prefix = `rte-bench:${randomBytes(4).toString('hex')}:`;
  // The publishers' mutations are the load generator, not what is measured: no rate limit.
  const redisEnv = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, MUTATIONS_PER_SECOND: '100000' };
  const shared = { ...redisEnv, FANOUT: 'shared' };
  const authEnv = { ...shared, AUTH_JWT_SECRET: TEST_SECRET };
  const scenarios: Scenario[] = [
    { id: 'plain', name: 'plain', start: () => startServerProcess(shared), transport: 'ws', afterSnapshot: false, auth: false },
    { id: 'after', name: 'after snapshot', start: () => startServerProcess(shared), transport: 'ws', afterSnapshot: true, auth: false },
    { id: 'auth', name: 'auth, token each', start: () => startServerProcess(authEnv), transport: 'ws', afterSnapshot: true, auth: true },
    { id: 'sse', name: 'SSE after snapshot', start: () => startServerProcess(shared), transport: 'sse', afterSnapshot: true, auth: false },
    {
      id: 'sse-lean',
      name: 'SSE, lean reader',
      start: () => startServerProcess(shared),
      transport: 'sse-lean',
      afterSnapshot: true,
      auth: false,
    },
    {
      id: 'per-subscriber',
      name: 'per-subscriber',
      start: () => startServerProcess({ ...redisEnv, FANOUT: 'per-subscriber' }),
      transport: 'ws',
      afterSnapshot: false,
      auth: false,
    },
    { id: 'plain-ws', name: 'plain ws (no GraphQL)', start: () => startServerProcess(shared), transport: 'ws-plain', afterSnapshot: false, auth: false },
    { id: 'ceiling', name: 'raw ws (ceiling)', start: () => startServerProcess({}, 'bench/raw-broadcast-server.ts'), transport: 'ws', afterSnapshot: false, auth: false },
  ];
  const results: Result[] = [];
  try {
    for (const scenario of scenarios) {
      if (only && !only.includes(scenario.id)) continue;
      results.push(await measure(scenario, await scenario.start()));
    }
  } finally {
    const redis = new Redis(redisUrl);
    await deleteKeys(redis, prefix);
    await redis.quit();
  }
  const ceiling = results.find((result) => result.name.startsWith('raw'))?.saturation;
  const p99Target = 50;
  console.log(
    `\nFan-out: ${subscriberCount} subscribers over ${projectCount} projects${slowPercent ? ` (${slowPercent}% not reading; counts are of the others)` : ''}, Redis, ` +
      `latency at ${rate} mutations/s (${(rate * subscriberCount) / projectCount} deliveries/s), saturation with ${publishers} publishers, ${seconds} s each; ${new Date().toISOString()}\n`,
  );
  const rows: Array<[string, (result: Result) => string]> = [
    ['deliveries/s at saturation', (result) => result.saturation.toFixed(0)],
    ['  ratio to the raw ceiling', (result) => (ceiling ? `${((result.saturation / ceiling) * 100).toFixed(0)}%` : '-')],
    ['p50 publish→receive (ms)', (result) => result.p50.toFixed(1)],
    ['p99 publish→receive (ms)', (result) => result.p99.toFixed(1)],
    ['server CPU per delivery (µs)', (result) => result.cpuMicrosPerDelivery.toFixed(1)],
    ['RSS per 1,000 connections (MiB)', (result) => result.rssPer1000.toFixed(1)],
    ['server peak RSS (MiB)', (result) => result.peakRssMiB.toFixed(0)],
    ['lost events', (result) => String(result.lost)],
    ['out of log order', (result) => String(result.outOfOrder)],
    ...(slowPercent > 0
      ? [
          [
            `slow readers disconnected (of ${Math.ceil(subscriberCount / Math.round(100 / slowPercent))})`,
            (result: Result) => String(result.slowDisconnected),
          ] as [string, (result: Result) => string],
        ]
      : []),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const column = Math.max(...results.map((result) => result.name.length)) + 2;
  console.log(`${''.padEnd(width)}  ${results.map((result) => result.name.padStart(column)).join('')}`);
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${results.map((result) => value(result).padStart(column)).join('')}`);
  const short = results.filter((result) => !result.name.startsWith('raw') && result.name !== 'per-subscriber');
  if (ceiling) {
    const missed = short.filter((result) => result.saturation < 0.8 * ceiling || result.p99 >= p99Target);
    console.log(
      missed.length === 0
        ? `\nEvery shared scenario reached 80% of the ceiling with p99 under ${p99Target} ms.`
        : `\nBelow the goal (80% of the ceiling, p99 under ${p99Target} ms): ${missed.map((result) => result.name).join(', ')}`,
    );
  }
  if (results.some((result) => result.lost !== 0 || (result.outOfOrder !== 0 && !result.name.startsWith('raw')))) process.exitCode = 1;
}

await main();
