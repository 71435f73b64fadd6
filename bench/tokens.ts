/**
 * Streamed agent messages at token rate, side by side in one run: the same load against the
 * server with its batching window (AGENT_DELTA_WINDOW_MS, default 50) and with the window
 * off (0, every delta its own event). BENCH_RUNS (100) runs each stream BENCH_DELTAS_PER_SECOND
 * (50) deltas a second for BENCH_SECONDS (5) to BENCH_SUBSCRIBERS_PER_RUN (10) subscribers
 * each, on the client library's own `AgentRunStream` document over graphql-ws, Redis.
 * Prints deltas/s accepted, events/s on the wire, frames per second per subscriber,
 * p50/p99 from a delta's mutation to its subscribers, server CPU, and whether every
 * subscriber ended with exactly the text sent.
 *
 *   npm run bench:tokens
 */
import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { AgentRunStream } from '../client/src/operations.js';
import { deleteKeys } from '../tests/support/redis.js';
import { startServerProcess } from './server-process.js';

const runCount = Number(process.env.BENCH_RUNS ?? 100);
const deltasPerSecond = Number(process.env.BENCH_DELTAS_PER_SECOND ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const subscribersPerRun = Number(process.env.BENCH_SUBSCRIBERS_PER_RUN ?? 10);
const windowMs = process.env.BENCH_WINDOW_MS ?? '50';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runPrefix = `rte-bench-tokens:${randomBytes(4).toString('hex')}:`;

const now = () => performance.timeOrigin + performance.now();
const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

async function call(url: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const result = (await response.json()) as { data?: any; errors?: unknown[] };
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data;
}

const START_RUN = `mutation ($projectId: ID!) { startAgentRun(projectId: $projectId, agent: "bench") { id } }`;
const START_MESSAGE = `mutation ($runId: ID!) { startAgentMessage(runId: $runId, role: ASSISTANT) { id } }`;
const APPEND = `mutation ($runId: ID!, $messageId: ID!, $text: String!) { appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text) { id } }`;
const FINISH = `mutation ($runId: ID!, $messageId: ID!) { finishAgentMessage(runId: $runId, messageId: $messageId) { id } }`;

interface Result {
  name: string;
  accepted: number;
  eventsPerSecond: number;
  framesPerSubscriberPerSecond: number;
  p50: number;
  p99: number;
  cpuPercent: number;
  exact: boolean;
}

async function measure(name: string, window: string): Promise<Result> {
  const prefix = `${runPrefix}${window}:`;
  const server = await startServerProcess({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, AGENT_DELTA_WINDOW_MS: window });
  const clients: Client[] = [];
  try {
    const projectId = 'tokens';
    const runs: Array<{ id: string; messageId: string; sent: string }> = [];
    for (let index = 0; index < runCount; index++) runs.push({ id: (await call(server.url, START_RUN, { projectId })).startAgentRun.id, messageId: '', sent: '' });

    // Every delta's text is `<sent at>;` so a subscriber can tell each one's latency, batched or not.
    const latencies = new Float64Array(runCount * deltasPerSecond * seconds * subscribersPerRun + 1000);
    let recorded = 0;
    let frames = 0;
    let measuring = false;
    const received = new Map<string, string[]>();
    const completed = new Set<string>();
    const live = new Set<string>();
    await Promise.all(
      runs.flatMap((run, runIndex) =>
        Array.from({ length: subscribersPerRun }, async (_, offset) => {
          const key = `${runIndex}:${offset}`;
          const client = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => {} });
          clients.push(client);
          await new Promise<void>((resolve) => client.on('connected', () => resolve()));
          const texts: string[] = [];
          received.set(key, texts);
          client.subscribe<any>(
            { query: print(AgentRunStream), variables: { projectId, runId: run.id } },
            {
              next: (result) => {
                const event = result.data.agentRun;
                live.add(key);
                if (event.type === 'AGENT_MESSAGE_COMPLETED') completed.add(key);
                if (event.type !== 'AGENT_MESSAGE_DELTA') return;
                const at = now();
                if (measuring) frames++;
                texts.push(event.messageDelta.text);
                for (const stamp of event.messageDelta.text.split(';')) {
                  if (stamp && recorded < latencies.length) latencies[recorded++] = at - Number(stamp);
                }
              },
              error: () => {},
              complete: () => {},
            },
          );
        }),
      ),
    );
    // Step updates until every subscriber has received one: all are live from then on.
    const STEP = `mutation ($runId: ID!) { updateAgentStep(runId: $runId, stepId: "warm-up", name: "warm up", status: RUNNING) { id } }`;
    const liveDeadline = Date.now() + 60_000;
    while (live.size < runs.length * subscribersPerRun) {
      if (Date.now() > liveDeadline) throw new Error(`${name}: subscribers did not all go live`);
      await Promise.all(runs.map((run) => call(server.url, STEP, { runId: run.id })));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const run of runs) run.messageId = (await call(server.url, START_MESSAGE, { runId: run.id })).startAgentMessage.id;

    const cpuBefore = server.cpuMs();
    const started = now();
    measuring = true;
    let accepted = 0;
    const tick = 1000 / deltasPerSecond;
    const inFlight = new Set<Promise<unknown>>();
    for (let step = 0; step < deltasPerSecond * seconds; step++) {
      const due = started + step * tick - now();
      if (due > 1) await new Promise((resolve) => setTimeout(resolve, due));
      for (const run of runs) {
        const text = `${now()};`;
        run.sent += text;
        const request = call(server.url, APPEND, { runId: run.id, messageId: run.messageId, text }).then(() => void accepted++);
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request));
      }
    }
    await Promise.all(inFlight);
    const elapsed = (now() - started) / 1000;
    const cpuMs = server.cpuMs() - cpuBefore;
    measuring = false;
    await Promise.all(runs.map((run) => call(server.url, FINISH, { runId: run.id, messageId: run.messageId })));
    const deadline = Date.now() + 30_000;
    while (completed.size < runs.length * subscribersPerRun && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const exact = runs.every((run, runIndex) =>
      Array.from({ length: subscribersPerRun }, (_, offset) => received.get(`${runIndex}:${offset}`)!.join('')).every((text) => text === run.sent),
    );
    const sorted = latencies.slice(0, recorded).sort();
    const subscribers = runs.length * subscribersPerRun;
    return {
      name,
      accepted: accepted / elapsed,
      eventsPerSecond: frames / subscribersPerRun / elapsed,
      framesPerSubscriberPerSecond: frames / subscribers / elapsed,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      cpuPercent: (cpuMs / 1000 / elapsed) * 100,
      exact,
    };
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.stop();
  }
}

const redis = new Redis(redisUrl);
const results: Result[] = [];
try {
  results.push(await measure(`window ${windowMs} ms`, windowMs));
  results.push(await measure('window 0 (each delta its own event)', '0'));
} finally {
  await deleteKeys(redis, runPrefix);
  await redis.quit();
}

console.log(
  `\n${runCount} runs x ${deltasPerSecond} deltas/s, ${subscribersPerRun} subscribers each (${runCount * subscribersPerRun} in all), ${seconds} s, Redis:\n`,
);
console.log('| | deltas/s accepted | delta events/s on the wire | frames/s per subscriber | p50 / p99 mutation→subscriber (ms) | server CPU | every text exact |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
for (const result of results) {
  console.log(
    `| ${result.name} | ${result.accepted.toFixed(0)} | ${result.eventsPerSecond.toFixed(0)} | ${result.framesPerSubscriberPerSecond.toFixed(1)} | ${result.p50.toFixed(1)} / ${result.p99.toFixed(1)} | ${result.cpuPercent.toFixed(0)}% | ${result.exact ? 'yes' : 'NO'} |`,
  );
}
const [batched, unbatched] = results;
console.log(`\nFrames cut by batching: ${(unbatched!.framesPerSubscriberPerSecond / batched!.framesPerSubscriberPerSecond).toFixed(1)}x (goal ≥ 5x); goal p99 < 100 ms.`);
