/**
 * The write path at saturation, side by side in one run, each server on a `redis-server` of
 * its own (bench/private-redis.ts) so its Redis numbers are its alone:
 *   - raw HTTP: node:http and one Lua script doing the durable work of a progress update
 *     (version check, summary, position, XADD, PUBLISH; bench/raw-write-server.ts);
 *   - bare yoga: a graphql-yoga server with no plugins whose resolver runs that script;
 *   - ours HTTP: this server as deployed (built and run by node, production mode, Redis,
 *     authentication on, a signed JWT per producer), one `updateIngestJobProgress` per request;
 *   - ours graphql-ws: the same mutation over one graphql-ws connection per producer;
 *   - ours through the producer client: `@realtime-events/producer` with its defaults (its
 *     default transport, graphql-ws, its own document and a key per call), a client each;
 *   - raw WebSocket: the raw script behind just enough graphql-transport-ws.
 * BENCH_PRODUCERS (16) producers each update a job of their own, in a project of their own,
 * one mutation after the other, with no subscribers: BENCH_WARMUP_SECONDS (2) of warm-up,
 * BENCH_SECONDS (5) back to back (changes/s at saturation), then BENCH_SECONDS at
 * BENCH_RATE (200) changes/s in all, where every row does the same work per second: the
 * costs per change come from there, since a server's cost per change falls as more changes
 * share an event-loop turn, and on a shared machine rows saturate at very different rates.
 * Our rows send an idempotency key with every request
 * (HTTP: the `Idempotency-Key` header; graphql-ws: `extensions.idempotencyKey`), fresh each
 * time, as a producer does; BENCH_WITHOUT_KEYS=1 adds our rows without them.
 * BENCH_BASELINE=<git ref>[,<git ref>…] adds our rows as of those commits (extracted to
 * temporary directories), to compare a change with what it replaces in the same run.
 * BENCH_VARIANT_NODE_OPTIONS="<flags>" adds our rows run with those Node options.
 * BENCH_REPEAT=<n> measures every row n times, in turns (the machine's noise then falls on
 * every row alike), and prints each row's medians.
 * BENCH_PROFILE_DIR=<dir> profiles our servers (bench/profiled-server.ts; summarise a
 * profile with bench/profile-summary.ts), from the end of the warm-up, or from the start of the
 * paced phase with BENCH_PROFILE_PHASE=paced.
 * Prints changes/s at saturation, server CPU per change (the server process' own CPU time, at
 * saturation and paced), Redis CPU per
 * change (INFO cpu), Redis time per change in scripts and in all commands (INFO
 * commandstats), the load generator's CPU, and whether every job holds exactly the changes
 * acknowledged; then the ratios the goals are stated in.
 *
 *   npm run bench:write
 *   BENCH_ONLY=raw-http,ours-http,main-http BENCH_BASELINE=main npm run bench:write
 */
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createProducer } from '../producer/src/index.js';
import { createRedisKeys } from '../src/store/redis-keys.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import { connectGraphqlWs, postGraphql } from './clients.js';
import type { PrivateRedis } from './private-redis.js';
import { startPrivateRedis } from './private-redis.js';
import type { ServerProcess } from './server-process.js';
import { builtServer, startServerProcess } from './server-process.js';

const producerCount = Number(process.env.BENCH_PRODUCERS ?? 16);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
/** Changes a second, in all, of the paced phase the costs are measured in. */
const rate = Number(process.env.BENCH_RATE ?? 200);
const only = process.env.BENCH_ONLY?.split(',');
/** Earlier commits whose rows of ours run beside this tree's. */
const baselines = process.env.BENCH_BASELINE?.split(',').filter(Boolean) ?? [];
const withoutKeys = process.env.BENCH_WITHOUT_KEYS === '1';
/** Rounds over every row, interleaved; each number printed is its row's median over them. */
const repeat = Number(process.env.BENCH_REPEAT ?? 1);
/** Where our servers write a CPU profile when they stop (bench/profiled-server.ts, summarised by bench/profile-summary.ts). */
const profileDir = process.env.BENCH_PROFILE_DIR;
/** `paced`: the profile starts with the paced phase, so it holds what the costs per change are measured from. */
const profilePaced = process.env.BENCH_PROFILE_PHASE === 'paced';
/** Node options for extra rows of ours (a heap setting, say), beside the rows without them. */
const variantNodeOptions = process.env.BENCH_VARIANT_NODE_OPTIONS;
const OURS_PREFIX = 'bench-write:';

const CREATE = `mutation ($p: ID!) { createIngestJob(projectId: $p, source: "bench") { id } }`;
const PROGRESS = `mutation ($id: ID!, $progress: Float!, $processed: Int, $message: String) {
  updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processed, message: $message) { id }
}`;

/** Sends one operation and resolves with its `data`; a GraphQL error rejects. */
type Send = (query: string, variables: Record<string, unknown>, idempotencyKey?: string) => Promise<any>;

interface Producer {
  send: Send;
  dispose(): void | Promise<void>;
}

/** A producer on a keep-alive connection of its own, one request at a time. */
function httpProducer(url: string, token: string): Producer {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send: Send = (query, variables, idempotencyKey) =>
    postGraphql(url, agent, token, query, variables, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
  return { send, dispose: () => agent.destroy() };
}

/** A producer on a graphql-ws connection of its own, as a worker holds one. */
async function wsProducer(url: string, token: string): Promise<Producer> {
  const client: Client = await connectGraphqlWs(url, token);
  const send: Send = (query, variables, idempotencyKey) =>
    new Promise((resolve, reject) => {
      let data: unknown;
      client.subscribe(
        { query, variables, ...(idempotencyKey ? { extensions: { idempotencyKey } } : {}) },
        {
          next: (result) => {
            if (result.errors) reject(new Error(JSON.stringify(result.errors)));
            data = result.data;
          },
          error: reject,
          complete: () => resolve(data),
        },
      );
    });
  return { send, dispose: () => client.dispose() };
}

/** A producer made by `@realtime-events/producer` with its defaults: graphql-ws, a key of its own per call. */
function clientProducer(url: string, token: string): Producer {
  const producer = createProducer({ url, token, webSocketImpl: WebSocket });
  const send: Send = async (_query, variables) => {
    const { id, progress, processed, message } = variables as { id: string; progress: number; processed: number; message: string };
    return { updateIngestJobProgress: await producer.updateIngestJobProgress({ id, progress, processedItems: processed, message }) };
  };
  return { send, dispose: () => producer.close() };
}

interface Row {
  id: string;
  name: string;
  /** `producer`: through the producer client, over its default transport. */
  transport: 'http' | 'ws' | 'producer';
  /** Sends an idempotency key with every change. */
  keys: boolean;
  start(redisUrl: string): Promise<ServerProcess>;
  /** The version and head position a job's change count can be checked against. */
  stored(redis: PrivateRedis, job: { id: string; projectId: string }): Promise<{ version: number; seq: number }>;
  /** Changes in a job's project log before the first update (ours logs its creation). */
  eventsBefore: number;
  /** Runs under bench/profiled-server.ts when BENCH_PROFILE_DIR is set (our rows). */
  profiled?: boolean;
}

interface Result {
  row: Row;
  /** At saturation. */
  changesPerSecond: number;
  saturationServerMicros: number;
  /** What the paced phase reached of `rate`; the costs below are from it. */
  pacedPerSecond: number;
  serverMicros: number;
  redisMicros: number;
  scriptMicros: number;
  commandMicros: number;
  generatorPercent: number;
  failures: number;
  exact: boolean;
}

const oursKeys = createRedisKeys(OURS_PREFIX);
async function oursStored(redis: PrivateRedis, job: { id: string; projectId: string }) {
  const [version, seq] = await Promise.all([redis.client.hget(oursKeys.entity('ingestJob', job.id), 'v'), redis.client.hget(oursKeys.head(job.projectId), 'seq')]);
  return { version: Number(version), seq: Number(seq) };
}
async function rawStored(redis: PrivateRedis, job: { id: string; projectId: string }) {
  const [version, seq] = await Promise.all([redis.client.hget(`job:${job.id}`, 'v'), redis.client.hget(`project:${job.projectId}:head`, 'seq')]);
  return { version: Number(version), seq: Number(seq) };
}

/** Our server as deployed (built, see `builtServer`), from `script` (this tree's by default). */
const ours = (script = builtServer(), nodeOptions?: string) => (redisUrl: string) =>
  startServerProcess(
    {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: OURS_PREFIX,
      AUTH_JWT_SECRET: TEST_SECRET,
      // The producers are the load, not abuse: no rate limit.
      MUTATIONS_PER_SECOND: '100000',
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
      ...(profileDir ? { PROFILE_DIR: resolve(profileDir), PROFILED_SCRIPT: script } : {}),
    },
    profileDir ? 'bench/profiled-server.ts' : script,
  );
const raw = (mode: string) => (redisUrl: string) => startServerProcess({ WRITE_SERVER: mode, REDIS_URL: redisUrl }, 'bench/raw-write-server.ts');

function oursRows(suffix: string, idPrefix: string, script?: string, nodeOptions?: string): Row[] {
  const rows: Row[] = [];
  for (const keys of withoutKeys ? [true, false] : [true]) {
    const keyNote = keys ? '' : ', no keys';
    rows.push(
      { id: `${idPrefix}http`, name: `ours, HTTP${keyNote}${suffix}`, transport: 'http', keys, start: ours(script, nodeOptions), stored: oursStored, eventsBefore: 1, profiled: true },
      { id: `${idPrefix}ws`, name: `ours, graphql-ws${keyNote}${suffix}`, transport: 'ws', keys, start: ours(script, nodeOptions), stored: oursStored, eventsBefore: 1, profiled: true },
    );
    // The client sends a key with every call: it has no row without.
    if (keys) rows.push({ id: `${idPrefix}producer`, name: `ours, producer client (graphql-ws)${suffix}`, transport: 'producer', keys, start: ours(script, nodeOptions), stored: oursStored, eventsBefore: 1, profiled: true });
  }
  return rows;
}

/** `ref` as a tree of its own beside this one, sharing its node_modules. */
function extract(ref: string): { script: string; dispose(): void } {
  const root = resolve(import.meta.dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'rte-bench-baseline-'));
  execSync(`git archive ${JSON.stringify(ref)} | tar -x -C ${JSON.stringify(dir)}`, { cwd: root });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return { script: builtServer(dir), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

async function measure(row: Row): Promise<Result> {
  const redis = await startPrivateRedis();
  const producers: Producer[] = [];
  let server: ServerProcess | undefined;
  try {
    server = await row.start(redis.url);
    const tokens = await Promise.all(Array.from({ length: producerCount }, (_, index) => signToken({ sub: `bench-producer-${index}`, projects: ['*'], expiresIn: 3600 })));
    const setup = httpProducer(server.url, tokens[0]!);
    producers.push(setup);
    const jobs = await Promise.all(
      tokens.map(async (_, index) => {
        const projectId = `write-${index}`;
        return { id: (await setup.send(CREATE, { p: projectId })).createIngestJob.id as string, projectId, acknowledged: 0 };
      }),
    );
    for (const token of tokens) {
      if (row.transport === 'http') producers.push(httpProducer(server.url, token));
      else if (row.transport === 'producer') producers.push(clientProducer(server.url, token));
      else producers.push(await wsProducer(server.url, token));
    }

    let failures = 0;
    /** Every producer sends back to back until `until`, or from `paced` on at `rate` changes/s in all. */
    const run = async (until: number, counted: { changes: number }, paced?: number) => {
      await Promise.all(
        jobs.map(async (job, index) => {
          const producer = producers[index + 1]!;
          for (let sent = 0; performance.now() < until; sent++) {
            if (paced !== undefined) {
              const due = paced + ((sent * jobs.length + index) * 1000) / rate - performance.now();
              if (due > 1) await new Promise((resolve) => setTimeout(resolve, due));
              if (performance.now() >= until) break;
            }
            const step = job.acknowledged;
            try {
              await producer.send(
                PROGRESS,
                { id: job.id, progress: (step % 100) / 100, processed: step * 10, message: `read ${step * 10} rows` },
                row.keys ? randomUUID() : undefined,
              );
              job.acknowledged++;
              counted.changes++;
            } catch (error) {
              if (failures++ === 0) console.error(`${row.name}: ${(error as Error).message}`);
            }
          }
        }),
      );
    };
    await run(performance.now() + warmupSeconds * 1000, { changes: 0 });
    if (profileDir && row.profiled && !profilePaced) process.kill(server.pid, 'SIGUSR2');

    // Saturation: how many changes a second the server takes.
    const saturated = { changes: 0 };
    const saturationServerBefore = server.cpuMs();
    const saturationStarted = performance.now();
    await run(saturationStarted + seconds * 1000, saturated);
    const saturationElapsed = (performance.now() - saturationStarted) / 1000;
    const saturationServerMs = server.cpuMs() - saturationServerBefore;

    // The same rate for every server: what a change costs, with the same batching per event-loop turn.
    await redis.resetStats();
    if (profileDir && row.profiled && profilePaced) process.kill(server.pid, 'SIGUSR2');
    const redisBefore = await redis.cpuSeconds();
    const serverBefore = server.cpuMs();
    const generatorBefore = process.cpuUsage();
    const started = performance.now();
    const counted = { changes: 0 };
    await run(started + seconds * 1000, counted, started);
    const elapsed = (performance.now() - started) / 1000;
    const serverMs = server.cpuMs() - serverBefore;
    const generator = process.cpuUsage(generatorBefore);
    const redisSeconds = (await redis.cpuSeconds()) - redisBefore;
    const stats = await redis.commandStats();
    const usecOf = (names: string[]) => names.reduce((sum, name) => sum + (stats.get(name)?.usec ?? 0), 0);
    const measuredCommands = [...stats.keys()].filter((name) => name !== 'info' && name !== 'config|resetstat');
    const changes = Math.max(1, counted.changes);
    const stored = await Promise.all(jobs.map((job) => row.stored(redis, job)));
    const exact = jobs.every((job, index) => stored[index]!.version === 1 + job.acknowledged && stored[index]!.seq === row.eventsBefore + job.acknowledged);
    return {
      row,
      changesPerSecond: saturated.changes / saturationElapsed,
      saturationServerMicros: (saturationServerMs * 1000) / Math.max(1, saturated.changes),
      pacedPerSecond: counted.changes / elapsed,
      serverMicros: (serverMs * 1000) / changes,
      redisMicros: (redisSeconds * 1e6) / changes,
      scriptMicros: usecOf(['evalsha', 'eval']) / changes,
      commandMicros: usecOf(measuredCommands) / changes,
      generatorPercent: ((generator.user + generator.system) / 1e6 / elapsed) * 100,
      failures,
      exact,
    };
  } finally {
    await Promise.all(producers.map((producer) => producer.dispose()));
    await server?.stop();
    await redis.stop();
  }
}

const baselineTrees = baselines.map((ref) => ({ ref, tree: extract(ref) }));
const rows: Row[] = [
  { id: 'raw-http', name: 'raw limit: node:http + one script', transport: 'http', keys: false, start: raw('http'), stored: rawStored, eventsBefore: 0 },
  { id: 'yoga', name: 'bare graphql-yoga + the same script', transport: 'http', keys: false, start: raw('yoga'), stored: rawStored, eventsBefore: 0 },
  ...baselineTrees.flatMap(({ ref, tree }) => oursRows(` (${ref})`, `${ref}-`, tree.script)),
  ...oursRows('', 'ours-'),
  ...(variantNodeOptions ? oursRows(` (${variantNodeOptions})`, 'variant-', undefined, variantNodeOptions) : []),
  { id: 'raw-ws', name: 'raw limit: WebSocket + one script', transport: 'ws', keys: false, start: raw('ws'), stored: rawStored, eventsBefore: 0 },
];
const rounds: Result[][] = [];
try {
  for (let round = 0; round < repeat; round++) {
    const measured: Result[] = [];
    for (const row of rows) {
      if (only && !only.includes(row.id)) continue;
      measured.push(await measure(row));
    }
    rounds.push(measured);
  }
} finally {
  for (const { tree } of baselineTrees) tree.dispose();
}
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const results: Result[] = rounds[0]!.map((first, index) => {
  const of = (pick: (result: Result) => number) => median(rounds.map((round) => pick(round[index]!)));
  return {
    row: first.row,
    changesPerSecond: of((result) => result.changesPerSecond),
    saturationServerMicros: of((result) => result.saturationServerMicros),
    pacedPerSecond: of((result) => result.pacedPerSecond),
    serverMicros: of((result) => result.serverMicros),
    redisMicros: of((result) => result.redisMicros),
    scriptMicros: of((result) => result.scriptMicros),
    commandMicros: of((result) => result.commandMicros),
    generatorPercent: of((result) => result.generatorPercent),
    failures: rounds.reduce((sum, round) => sum + round[index]!.failures, 0),
    exact: rounds.every((round) => round[index]!.exact),
  };
});

console.log(
  `\nWrite path: ${producerCount} producers, one job each, updateIngestJobProgress back to back, no subscribers; each server on its own Redis; ` +
    `${warmupSeconds} s warm-up, ${seconds} s at saturation, then ${seconds} s at ${rate} changes/s (the costs per change)${repeat > 1 ? `, medians of ${repeat} rounds` : ''}; ${new Date().toISOString()}\n`,
);
console.log(
  `| server | keys | changes/s at saturation | server CPU per change at saturation | changes/s paced (of ${rate}) | server CPU per change | Redis CPU per change | Redis time in scripts per change | Redis time in all commands per change | load generator CPU | stored exactly what was acknowledged |`,
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const result of results) {
  console.log(
    `| ${result.row.name} | ${result.row.keys ? 'yes' : 'no'} | ${result.changesPerSecond.toFixed(0)} | ${result.saturationServerMicros.toFixed(0)} µs | ${result.pacedPerSecond.toFixed(0)} | ` +
      `${result.serverMicros.toFixed(0)} µs | ${result.redisMicros.toFixed(0)} µs | ` +
      `${result.scriptMicros.toFixed(1)} µs | ${result.commandMicros.toFixed(1)} µs | ${result.generatorPercent.toFixed(0)}% | ${result.exact && result.failures === 0 ? 'yes' : `NO (${result.failures} failed)`} |`,
  );
}

const find = (id: string, keys = true) => results.find((result) => result.row.id === id && (result.row.keys === keys || id.startsWith('raw') || id === 'yoga'));
const ratio = (label: string, a: Result | undefined, b: Result | undefined, pick: (result: Result) => number, goal?: number) => {
  if (!a || !b) return;
  const value = pick(a) / pick(b);
  console.log(`${label}: ${value.toFixed(2)}x${goal === undefined ? '' : ` (goal ≤ ${goal}x: ${value <= goal ? 'met' : 'missed'})`}`);
};
console.log('');
const rawHttp = find('raw-http');
const rawWs = find('raw-ws');
ratio('Redis CPU per change, ours over HTTP with keys / raw limit', find('ours-http'), rawHttp, (result) => result.redisMicros, 1.5);
ratio('Redis time in scripts per change, ours over HTTP with keys / raw limit', find('ours-http'), rawHttp, (result) => result.scriptMicros);
ratio('Server CPU per change, ours over HTTP / raw limit over HTTP', find('ours-http'), rawHttp, (result) => result.serverMicros, 3);
ratio('Server CPU per change, ours over graphql-ws / raw WebSocket limit', find('ours-ws'), rawWs, (result) => result.serverMicros);
ratio('Server CPU per change, ours through the producer client (graphql-ws) / raw WebSocket limit', find('ours-producer'), rawWs, (result) => result.serverMicros, 1.5);
ratio('Server CPU per change, bare yoga / raw limit over HTTP', find('yoga'), rawHttp, (result) => result.serverMicros);
for (const ref of baselines) {
  ratio(`Server CPU per change over HTTP, ours / ours at ${ref}`, find('ours-http'), find(`${ref}-http`), (result) => result.serverMicros);
  ratio(`Server CPU per change over graphql-ws, ours / ours at ${ref}`, find('ours-ws'), find(`${ref}-ws`), (result) => result.serverMicros);
}
if (results.some((result) => !result.exact || result.failures > 0)) process.exitCode = 1;
