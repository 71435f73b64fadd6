/**
 * Streamed agent messages at token rate, side by side in one run. BENCH_RUNS (100) runs each
 * stream BENCH_TOKENS_PER_SECOND (50) tokens a second for BENCH_SECONDS (5) to
 * BENCH_SUBSCRIBERS_PER_RUN (10) subscribers each, against:
 *   - our server with its batching window (AGENT_DELTA_WINDOW_MS 50, the default) and with
 *     the window off (0: every token its own event), on Redis with authentication on (a
 *     token per subscriber, each subscribing after a snapshot's cursor as the hooks do, and
 *     one per producer);
 *   - the raw limit (bench/raw-token-server.ts: the same frames and window with no GraphQL,
 *     Redis or authentication), with and without its window;
 *   - both again with BENCH_FAST_RUNS (10) runs at BENCH_FAST_TOKENS_PER_SECOND (200) tokens a
 *     second, where a 50 ms window holds 10 tokens: how many fewer frames than tokens.
 * Subscribers are read in a process of their own (bench/token-readers.ts) with bare
 * WebSockets, so reading a thousand streams does not starve the server of CPU. How producers
 * send is `connectProducer`: on our server, through the producer package (BENCH_PRODUCER=package,
 * the default: each run's message writer, over a WebSocket of its own, is handed the tokens as a
 * model emits them and merges those of each window), with one more row that sends each token as
 * its own request, to compare requests and server CPU per token; BENCH_PRODUCER=ws or http
 * sends every row's tokens one request each (a graphql-ws connection per run, or HTTP), each
 * once the one before it is acknowledged. The raw limit is always fed one request per token.
 * Prints tokens/s accepted, requests per token, frames per token, p50/p99 from a token's `append` to its
 * subscribers against the window + 50 ms, server CPU per token against the raw limit's,
 * the CPU of the readers and of this process, and whether every subscriber ended with
 * exactly the text sent. BENCH_ROWS=1,3 runs only those rows (1-based); BENCH_PROFILE_DIR=<dir>
 * writes a CPU profile of our servers over the measured phase (bench/profile-summary.ts).
 *
 *   npm run bench:tokens
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { AgentRunStream } from '../client/src/operations.js';
import { deleteKeys } from '../tests/support/redis.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import type { ServerProcess } from './server-process.js';
import WebSocket from 'ws';
import { createProducer } from '../producer/src/index.js';
import { connectGraphqlWs, postGraphql } from './clients.js';
import { builtServer, startServerProcess } from './server-process.js';
import type { ReaderReply, ReaderRequest, ReaderSubscription } from './token-readers.js';

const runCount = Number(process.env.BENCH_RUNS ?? 100);
const tokensPerSecond = Number(process.env.BENCH_TOKENS_PER_SECOND ?? process.env.BENCH_DELTAS_PER_SECOND ?? 50);
const fastRunCount = Number(process.env.BENCH_FAST_RUNS ?? 10);
const fastTokensPerSecond = Number(process.env.BENCH_FAST_TOKENS_PER_SECOND ?? 200);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const subscribersPerRun = Number(process.env.BENCH_SUBSCRIBERS_PER_RUN ?? 10);
const window = Number(process.env.BENCH_WINDOW_MS ?? 50);
/** BENCH_ROWS=1,3: only those rows of the table (1-based), to profile one, say. */
const only = process.env.BENCH_ROWS?.split(',').map(Number);
type ProducerKind = 'package' | 'ws' | 'http';
const producerKind: ProducerKind = process.env.BENCH_PRODUCER === 'http' ? 'http' : process.env.BENCH_PRODUCER === 'ws' ? 'ws' : 'package';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runPrefix = `rte-bench-tokens:${randomBytes(4).toString('hex')}:`;

const now = () => performance.timeOrigin + performance.now();

/** Setup calls over a bounded pool of keep-alive connections. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

const call = (url: string, token: string, query: string, variables: Record<string, unknown>) => postGraphql(url, agent, token, query, variables);

const START_RUN = `mutation ($projectId: ID!) { startAgentRun(projectId: $projectId, agent: "bench") { id } }`;
const START_MESSAGE = `mutation ($runId: ID!) { startAgentMessage(runId: $runId, role: ASSISTANT) { id } }`;
const APPEND = `mutation ($runId: ID!, $messageId: ID!, $text: String!) { appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text) { id } }`;
const FINISH = `mutation ($runId: ID!, $messageId: ID!) { finishAgentMessage(runId: $runId, messageId: $messageId) { id } }`;
/** Mutations our server executed so far, from its metrics. */
/** What our servers ask of a `/metrics` reader: in production the metrics are not public. */
const METRICS_TOKEN = 'bench-tokens-metrics-token';

async function mutationCount(url: string): Promise<number> {
  const sample = 'rte_graphql_operation_duration_seconds_count{operation="mutation"}';
  const response = await fetch(new URL('/metrics', url), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const line = (await response.text()).split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

const STEP = `mutation ($runId: ID!) { updateAgentStep(runId: $runId, stepId: "warm-up", name: "warm up", status: RUNNING) { id } }`;

/**
 * What streams one run's message: `append` resolves once the producer may be handed the next
 * token (one request per token: once the server acknowledged it), `flush` once all are stored.
 */
interface TokenProducer {
  append(text: string): Promise<void>;
  flush(): Promise<void>;
  dispose(): Promise<void> | void;
}

/**
 * The producer of one run's message, with a token of its own (connections are limited per
 * subject): it starts the message (setting `run.messageId`) and streams it. The one place that
 * knows how a producer talks to the server.
 */
async function connectProducer(url: string, run: { id: string; messageId: string }, runIndex: number, kind: ProducerKind): Promise<TokenProducer> {
  const token = await signToken({ sub: `bench-producer-${runIndex}`, projects: ['tokens'], expiresIn: 3600 });
  if (kind === 'package') {
    const producer = createProducer({ url, token, webSocketImpl: WebSocket });
    const writer = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' });
    run.messageId = writer.id;
    let failure: unknown;
    return {
      // As an agent runtime hands a model's tokens over: without waiting for each to be stored.
      append: async (text) => {
        if (failure) throw failure;
        writer.append(text).catch((error: unknown) => (failure = error));
      },
      flush: () => writer.flush(),
      dispose: () => producer.close(),
    };
  }
  run.messageId = (await call(url, token, START_MESSAGE, { runId: run.id })).startAgentMessage.id;
  if (kind === 'http') {
    return { append: (text) => call(url, token, APPEND, { runId: run.id, messageId: run.messageId, text }), flush: async () => {}, dispose: () => {} };
  }
  const client: Client = await connectGraphqlWs(url, token);
  return {
    append: (text) =>
      new Promise<void>((resolve, reject) =>
        client.subscribe({ query: APPEND, variables: { runId: run.id, messageId: run.messageId, text } }, { next: () => {}, error: reject, complete: () => resolve() }),
      ),
    flush: async () => {},
    dispose: () => client.dispose(),
  };
}

/** The lean readers' process, and a request–reply over its IPC channel. */
function startReaders(): { child: ChildProcess; ask<T extends ReaderReply['type']>(request: ReaderRequest, answer: T): Promise<Extract<ReaderReply, { type: T }>> } {
  const child = fork(new URL('./token-readers.ts', import.meta.url), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    child,
    ask: (request, answer) =>
      new Promise((resolve, reject) => {
        const onMessage = (message: ReaderReply) => {
          if (message.type !== answer) return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve(message as never);
        };
        const onExit = (code: number | null) => reject(new Error(`token readers exited with ${code}`));
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send(request);
      }),
  };
}

interface Row {
  name: string;
  runs: number;
  tokensPerSecond: number;
  window: number;
  raw: boolean;
  /** How this row's producers send. */
  producer: ProducerKind;
  start(): Promise<ServerProcess>;
}

interface Result {
  row: Row;
  accepted: number;
  /** Mutations the server executed per token (the raw limit: one request per token). */
  requestsPerToken: number;
  framesPerToken: number;
  p50: number;
  p99: number;
  serverMicrosPerToken: number;
  serverPercent: number;
  readersPercent: number;
  producersPercent: number;
  exact: boolean;
  disconnected: number;
}

/** Where our servers write a CPU profile of the measured phase (bench/profiled-server.ts). */
const profileDir = process.env.BENCH_PROFILE_DIR;

/** Our server as deployed: built, production mode, on Redis, authentication on. */
const ours = (windowMs: number) => () =>
  startServerProcess(
    {
    NODE_ENV: 'production',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `${runPrefix}${windowMs}:${randomBytes(2).toString('hex')}:`,
    AGENT_DELTA_WINDOW_MS: String(windowMs),
    AUTH_JWT_SECRET: TEST_SECRET,
    MUTATIONS_PER_SECOND: '100000',
    METRICS_TOKEN,
    ...(profileDir ? { PROFILE_DIR: resolve(profileDir), PROFILED_SCRIPT: builtServer() } : {}),
    },
    profileDir ? 'bench/profiled-server.ts' : undefined,
  );

const raw = (windowMs: number) => () => startServerProcess({ AGENT_DELTA_WINDOW_MS: String(windowMs) }, 'bench/raw-token-server.ts');

async function measure(row: Row): Promise<Result> {
  const server = await row.start();
  const readers = startReaders();
  const producers: TokenProducer[] = [];
  try {
    const projectId = 'tokens';
    const setupToken = await signToken({ sub: 'bench-setup', projects: ['*'], expiresIn: 3600 });
    const runs: Array<{ id: string; messageId: string; sent: string }> = [];
    for (let index = 0; index < row.runs; index++) runs.push({ id: (await call(server.url, setupToken, START_RUN, { projectId })).startAgentRun.id, messageId: '', sent: '' });
    // Subscribers start from a snapshot's cursor, as the hooks do: they replay, then join.
    const { cursor } = (await call(server.url, setupToken, `query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor } }`, { projectId }))
      .projectSnapshot as { cursor: string };
    const subscriptions: ReaderSubscription[] = await Promise.all(
      runs.flatMap((run, runIndex) =>
        Array.from({ length: subscribersPerRun }, async (_, offset) => ({
          key: `${runIndex}:${offset}`,
          runId: run.id,
          // A user of their own, with a project list of their own that includes the watched one.
          token: await signToken({ sub: `bench-user-${runIndex}-${offset}`, projects: [projectId, `own-${runIndex}-${offset}`], scope: 'events:read', expiresIn: 3600 }),
        })),
      ),
    );
    await readers.ask({ type: 'open', url: server.url, query: print(AgentRunStream), projectId, after: cursor, subscriptions }, 'opened');
    // Step updates until every subscriber has received one: all are live from then on.
    const liveDeadline = Date.now() + 60_000;
    while ((await readers.ask({ type: 'live?' }, 'live')).count < subscriptions.length) {
      if (Date.now() > liveDeadline) throw new Error(`${row.name}: subscribers did not all go live`);
      await Promise.all(runs.map((run) => call(server.url, setupToken, STEP, { runId: run.id })));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    producers.push(...(await Promise.all(runs.map((run, runIndex) => connectProducer(server.url, run, runIndex, row.producer)))));

    await readers.ask({ type: 'measure' }, 'measuring');
    const mutationsBefore = row.raw ? 0 : await mutationCount(server.url);
    if (profileDir && !row.raw) process.kill(server.pid, 'SIGUSR2');
    const cpuBefore = server.cpuMs();
    const producersBefore = process.cpuUsage();
    const started = now();
    let accepted = 0;
    const tick = 1000 / row.tokensPerSecond;
    const steps = row.tokensPerSecond * seconds;
    // Each run's producer sends its tokens in order, one after the other as a model emits
    // them: a server that falls behind shows as fewer tokens accepted, not as text out of order.
    await Promise.all(
      runs.map(async (run, runIndex) => {
        const offset = (runIndex / runs.length) * tick;
        for (let step = 0; step < steps; step++) {
          const due = started + offset + step * tick - now();
          if (due > 1) await new Promise((resolve) => setTimeout(resolve, due));
          const text = `${now()};`;
          run.sent += text;
          await producers[runIndex]!.append(text);
          accepted++;
        }
      }),
    );
    // What the producers' windows still hold is part of what the tokens cost.
    await Promise.all(producers.map((producer) => producer.flush()));
    const elapsed = (now() - started) / 1000;
    const cpuMs = server.cpuMs() - cpuBefore;
    const mutations = row.raw ? accepted : (await mutationCount(server.url)) - mutationsBefore;
    const producersCpu = process.cpuUsage(producersBefore);
    // The last window's frames arrive after the last append: wait for them before counting.
    await new Promise((resolve) => setTimeout(resolve, row.window + 100));
    const { frames } = await readers.ask({ type: 'stop' }, 'stopped');
    await Promise.all(runs.map((run) => call(server.url, setupToken, FINISH, { runId: run.id, messageId: run.messageId })));
    const finished = await readers.ask({ type: 'finish', sent: Object.fromEntries(runs.map((run) => [run.id, run.sent])) }, 'finished');
    return {
      row,
      accepted: accepted / elapsed,
      requestsPerToken: mutations / accepted,
      // Frames one subscriber received per token its run sent.
      framesPerToken: frames / subscribersPerRun / accepted,
      p50: finished.p50,
      p99: finished.p99,
      serverMicrosPerToken: (cpuMs * 1000) / accepted,
      serverPercent: (cpuMs / 1000 / elapsed) * 100,
      readersPercent: (finished.cpuMs / 1000 / elapsed) * 100,
      producersPercent: ((producersCpu.user + producersCpu.system) / 1e6 / elapsed) * 100,
      exact: finished.exact && finished.completed === subscriptions.length,
      disconnected: finished.disconnected,
    };
  } finally {
    await Promise.all(producers.map((producer) => producer.dispose()));
    if (readers.child.exitCode === null) {
      readers.child.kill();
      await once(readers.child, 'exit');
    }
    await server.stop();
  }
}

const perToken: ProducerKind = producerKind === 'http' ? 'http' : 'ws';
const rows: Row[] = [
  { name: `ours, window ${window} ms`, runs: runCount, tokensPerSecond, window, raw: false, producer: producerKind, start: ours(window) },
  { name: 'ours, window 0', runs: runCount, tokensPerSecond, window: 0, raw: false, producer: producerKind, start: ours(0) },
  { name: `raw limit, window ${window} ms`, runs: runCount, tokensPerSecond, window, raw: true, producer: perToken, start: raw(window) },
  { name: 'raw limit, window 0', runs: runCount, tokensPerSecond, window: 0, raw: true, producer: perToken, start: raw(0) },
  { name: `ours, window ${window} ms, ${fastTokensPerSecond} tokens/s`, runs: fastRunCount, tokensPerSecond: fastTokensPerSecond, window, raw: false, producer: producerKind, start: ours(window) },
  { name: `raw limit, window ${window} ms, ${fastTokensPerSecond} tokens/s`, runs: fastRunCount, tokensPerSecond: fastTokensPerSecond, window, raw: true, producer: perToken, start: raw(window) },
  ...(producerKind === 'package'
    ? [{ name: `ours, window ${window} ms, one request per token`, runs: runCount, tokensPerSecond, window, raw: false, producer: perToken, start: ours(window) }]
    : []),
];
const redis = new Redis(redisUrl);
const results: Result[] = [];
try {
  for (const [index, row] of rows.entries()) if (!only || only.includes(index + 1)) results.push(await measure(row));
} finally {
  agent.destroy();
  await deleteKeys(redis, runPrefix);
  await redis.quit();
}

console.log(
  `\n${subscribersPerRun} subscribers per run, ${seconds} s, producers ${producerKind === 'package' ? 'through the producer package' : `over ${producerKind === 'ws' ? 'graphql-ws' : 'HTTP'}, one request per token`}, subscribers read in a process of their own; ${new Date().toISOString()}\n`,
);
console.log('| | runs × tokens/s | tokens/s accepted | requests per token | frames per token | p50 / p99 append→subscriber (ms) | p99 ≤ window + 50 ms | server CPU per token | server CPU | readers CPU | producers CPU | every text exact | subscribers cut off |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |');
for (const result of results) {
  const { row } = result;
  console.log(
    `| ${row.name} | ${row.runs} × ${row.tokensPerSecond} | ${result.accepted.toFixed(0)} | ${result.requestsPerToken.toFixed(2)} | ${result.framesPerToken.toFixed(2)} | ${result.p50.toFixed(1)} / ${result.p99.toFixed(1)} | ` +
      `${result.p99 <= row.window + 50 ? 'yes' : 'NO'} | ${result.serverMicrosPerToken.toFixed(0)} µs | ${result.serverPercent.toFixed(0)}% | ${result.readersPercent.toFixed(0)}% | ` +
      `${result.producersPercent.toFixed(0)}% | ${result.exact ? 'yes' : 'NO'} | ${result.disconnected} |`,
  );
}
// The ratios need every row.
if (results.length === rows.length) {
  const [oursWindowed, , rawWindowed, , oursFast, rawFast] = results as [Result, Result, Result, Result, Result, Result];
  const cpuRatio = oursWindowed.serverMicrosPerToken / rawWindowed.serverMicrosPerToken;
  console.log(`\nServer CPU per token, ours / raw limit (window ${window} ms): ${cpuRatio.toFixed(2)}x (goal ≤ 2x: ${cpuRatio <= 2 ? 'met' : 'missed'})`);
  const cut = 1 / oursFast.framesPerToken;
  console.log(
    `Tokens per frame at ${fastTokensPerSecond} tokens/s: ours ${cut.toFixed(1)}, raw limit ${(1 / rawFast.framesPerToken).toFixed(1)} (goal ≥ 5: ${cut >= 5 ? 'met' : 'missed'})`,
  );
  console.log(`p99 append→subscriber, ours at window ${window} ms: ${oursWindowed.p99.toFixed(1)} ms (goal ≤ ${window + 50} ms: ${oursWindowed.p99 <= window + 50 ? 'met' : 'missed'})`);
  const oneEach = results[6];
  if (oneEach) {
    console.log(
      `Producer package against one request per token (window ${window} ms): ${oursWindowed.requestsPerToken.toFixed(2)} vs ${oneEach.requestsPerToken.toFixed(2)} requests per token, ` +
        `${oursWindowed.serverMicrosPerToken.toFixed(0)} vs ${oneEach.serverMicrosPerToken.toFixed(0)} µs of server CPU per token`,
    );
  }
}
if (results.some((result) => !result.exact)) process.exitCode = 1;
