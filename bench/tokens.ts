/**
 * Streamed agent messages at token rate, side by side in one run: the same load against the
 * server with its batching window (AGENT_DELTA_WINDOW_MS, default 50), with the window off
 * (0, every delta its own event), and against the raw limit (bench/raw-token-server.ts: the
 * same frames and window with no GraphQL, Redis or authentication), with and without its
 * window. BENCH_RUNS (100) runs each stream BENCH_DELTAS_PER_SECOND (50) deltas a second for
 * BENCH_SECONDS (5) to BENCH_SUBSCRIBERS_PER_RUN (10) subscribers each, on the client
 * library's own `AgentRunStream` document over graphql-ws. Our server runs on Redis with
 * authentication on: a token per subscriber, each subscribing after a snapshot's cursor as
 * the hooks do, and one per producer. Each run's producer sends its tokens one after the
 * other over a WebSocket of its own (BENCH_PRODUCER=http: one HTTP request per token).
 * Prints deltas/s accepted, events/s on the wire, frames per second per subscriber,
 * p50/p99 from a delta's mutation to its subscribers, the CPU of the server and of this
 * load generator (they share the machine), and whether every subscriber ended with exactly
 * the text sent.
 *
 *   npm run bench:tokens
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { AgentRunStream } from '../client/src/operations.js';
import { deleteKeys } from '../tests/support/redis.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import type { ServerProcess } from './server-process.js';
import { connectGraphqlWs } from './clients.js';
import { startServerProcess } from './server-process.js';

const runCount = Number(process.env.BENCH_RUNS ?? 100);
const deltasPerSecond = Number(process.env.BENCH_DELTAS_PER_SECOND ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const subscribersPerRun = Number(process.env.BENCH_SUBSCRIBERS_PER_RUN ?? 10);
/** Windows to compare with 0 (no batching): the default, and a longer one. */
const windows = (process.env.BENCH_WINDOWS_MS ?? '50,100').split(',');
/**
 * How producers send their tokens: over a WebSocket of their own (graphql-ws, as a worker
 * streaming a model's output would), or one HTTP request per token.
 */
const producer = process.env.BENCH_PRODUCER === 'http' ? 'http' : 'ws';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runPrefix = `rte-bench-tokens:${randomBytes(4).toString('hex')}:`;

const now = () => performance.timeOrigin + performance.now();
const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

/**
 * Mutations over a bounded pool of keep-alive connections, as a producer fleet behind a
 * proxy would send them: when the server falls behind, requests wait in the pool instead of
 * opening ever more sockets.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** The token every HTTP call of the load generator carries: a producer allowed on every project. */
let producerToken = '';

function call(url: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const body = JSON.stringify({ query, variables });
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${producerToken}` };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const result = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: any; errors?: unknown[] };
        if (result.errors) reject(new Error(JSON.stringify(result.errors)));
        else resolve(result.data);
      });
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
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
  /** This process: the producers and every subscriber, on the same machine as the server. */
  generatorCpuPercent: number;
  exact: boolean;
  disconnected: number;
}

/**
 * Our server as deployed: in production mode, on Redis, with authentication on (producers
 * and subscribers present tokens of their own).
 */
const ours = (window: string) => () =>
  startServerProcess({
    NODE_ENV: 'production',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `${runPrefix}${window}:`,
    AGENT_DELTA_WINDOW_MS: window,
    AUTH_JWT_SECRET: TEST_SECRET,
    MUTATIONS_PER_SECOND: '100000',
  });

/** The raw limit: the same frames and the same window, with no GraphQL, Redis or authentication. */
const raw = (window: string) => () => startServerProcess({ AGENT_DELTA_WINDOW_MS: window }, 'bench/raw-token-server.ts');

async function measure(name: string, start: () => Promise<ServerProcess>): Promise<Result> {
  const server = await start();
  producerToken = await signToken({ sub: 'bench-producer', projects: ['*'], expiresIn: 3600 });
  const clients: Client[] = [];
  try {
    const projectId = 'tokens';
    const runs: Array<{ id: string; messageId: string; sent: string }> = [];
    for (let index = 0; index < runCount; index++) runs.push({ id: (await call(server.url, START_RUN, { projectId })).startAgentRun.id, messageId: '', sent: '' });
    // Subscribers start from a snapshot's cursor, as the hooks do: they replay, then join.
    const { cursor } = (await call(server.url, `query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor } }`, { projectId }))
      .projectSnapshot as { cursor: string };

    // Every delta's text is `<sent at>;` so a subscriber can tell each one's latency, batched or not.
    const latencies = new Float64Array(runCount * deltasPerSecond * seconds * subscribersPerRun + 1000);
    let recorded = 0;
    let frames = 0;
    let measuring = false;
    const received = new Map<string, string[]>();
    const completed = new Set<string>();
    const live = new Set<string>();
    /** Subscribers whose connection closed during the run (a slow-consumer cut, for one). */
    const disconnected = new Set<string>();
    await Promise.all(
      runs.flatMap((run, runIndex) =>
        Array.from({ length: subscribersPerRun }, async (_, offset) => {
          const key = `${runIndex}:${offset}`;
          // A user of their own, with a project list of their own that includes the watched one.
          const token = await signToken({ sub: `bench-user-${key}`, projects: [projectId, `own-${key}`], scope: 'events:read', expiresIn: 3600 });
          const client = await connectGraphqlWs(server.url, token, {
            on: { closed: () => void (completed.has(key) || disconnected.add(key)) },
          });
          clients.push(client);
          const texts: string[] = [];
          received.set(key, texts);
          client.subscribe<any>(
            { query: print(AgentRunStream), variables: { projectId, runId: run.id, after: cursor } },
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

    // One connection per producer, as each agent worker would hold.
    const producers = await Promise.all(
      runs.map(async (_, runIndex) => {
        if (producer === 'http') return (variables: Record<string, unknown>) => call(server.url, APPEND, variables);
        // A worker of its own: connections are limited per token subject.
        const token = await signToken({ sub: `bench-producer-${runIndex}`, projects: [projectId], expiresIn: 3600 });
        const client = await connectGraphqlWs(server.url, token);
        clients.push(client);
        return (variables: Record<string, unknown>) =>
          new Promise<void>((resolve, reject) =>
            client.subscribe({ query: APPEND, variables }, { next: () => {}, error: reject, complete: () => resolve() }),
          );
      }),
    );

    const cpuBefore = server.cpuMs();
    const generatorBefore = process.cpuUsage();
    const started = now();
    measuring = true;
    let accepted = 0;
    const tick = 1000 / deltasPerSecond;
    const steps = deltasPerSecond * seconds;
    // Each run's producer sends its tokens in order, one after the other as a model emits
    // them: a token waits for the one before it, so a server that falls behind shows as
    // fewer deltas accepted per second, not as text out of order.
    await Promise.all(
      runs.map(async (run, runIndex) => {
        const offset = (runIndex / runs.length) * tick;
        for (let step = 0; step < steps; step++) {
          const due = started + offset + step * tick - now();
          if (due > 1) await new Promise((resolve) => setTimeout(resolve, due));
          const text = `${now()};`;
          run.sent += text;
          await producers[runIndex]!({ runId: run.id, messageId: run.messageId, text });
          accepted++;
        }
      }),
    );
    const elapsed = (now() - started) / 1000;
    const cpuMs = server.cpuMs() - cpuBefore;
    const generator = process.cpuUsage(generatorBefore);
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
      generatorCpuPercent: ((generator.user + generator.system) / 1e6 / elapsed) * 100,
      exact,
      disconnected: disconnected.size,
    };
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.stop();
  }
}

const redis = new Redis(redisUrl);
const results: Result[] = [];
try {
  for (const window of windows) results.push(await measure(`window ${window} ms${window === '50' ? ' (default)' : ''}`, ours(window)));
  results.push(await measure('window 0 (each delta its own event)', ours('0')));
  results.push(await measure(`raw limit, window ${windows[0]} ms`, raw(windows[0]!)));
  results.push(await measure('raw limit, window 0', raw('0')));
} finally {
  agent.destroy();
  await deleteKeys(redis, runPrefix);
  await redis.quit();
}

console.log(
  `\n${runCount} runs x ${deltasPerSecond} deltas/s, ${subscribersPerRun} subscribers each (${runCount * subscribersPerRun} in all), ${seconds} s, Redis:\n`,
);
console.log('| | deltas/s accepted | delta events/s on the wire | frames/s per subscriber | p50 / p99 mutation→subscriber (ms) | server CPU | load generator CPU | every text exact | subscribers cut off |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
for (const result of results) {
  console.log(
    `| ${result.name} | ${result.accepted.toFixed(0)} | ${result.eventsPerSecond.toFixed(0)} | ${result.framesPerSubscriberPerSecond.toFixed(1)} | ${result.p50.toFixed(1)} / ${result.p99.toFixed(1)} | ${result.cpuPercent.toFixed(0)}% | ${result.generatorCpuPercent.toFixed(0)}% | ${result.exact ? 'yes' : 'NO'} | ${result.disconnected} |`,
  );
}
// Per delta accepted, so runs that accepted different rates compare fairly.
const framesPerDelta = (result: Result) => result.eventsPerSecond / result.accepted;
const [rawBatched, rawUnbatched] = results.slice(-2) as [Result, Result];
const unbatched = results.at(-3)!;
for (const batched of results.slice(0, -3)) {
  console.log(`Frames per delta cut by the ${batched.name}: ${(framesPerDelta(unbatched) / framesPerDelta(batched)).toFixed(1)}x`);
}
console.log(`Frames per delta cut by the raw limit's window: ${(framesPerDelta(rawUnbatched) / framesPerDelta(rawBatched)).toFixed(1)}x`);
console.log(`(producers over ${producer === 'ws' ? 'WebSocket' : 'HTTP'}; goals: p99 < 100 ms, frames cut ≥ 5x)`);
