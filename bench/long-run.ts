/**
 * Long runs, side by side in one run:
 *   - this server: an agent run of BENCH_MESSAGES (5,000) messages of 2,000 characters, and a
 *     workflow of BENCH_NODES (500) nodes with 4 KB outputs, each node updated 3 times, with
 *     one subscriber per workload on the client library's own documents (`AgentRunStream`,
 *     `WorkflowStream`) over graphql-ws, as deployed: production mode, authentication on (a
 *     token for the producer and one for each subscriber), each subscriber starting after a
 *     snapshot's cursor as the hooks do;
 *   - the naive way: every append rewrites the whole run and its event carries the whole run
 *     (hash + log entry + publish of the full JSON, straight to Redis), for the first
 *     BENCH_NAIVE_MESSAGES (300) messages only, since it grows quadratically;
 *   - the raw limit: the message alone, straight to Redis (RPUSH + XADD + PUBLISH), no GraphQL.
 * Prints mutation latency of the first 100 against the last 100, Redis memory growth per byte
 * of content, and bytes each subscriber received per event against the size of the change.
 *
 *   npm run bench:long-run
 */
import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { AgentRunStream, WorkflowStream } from '../client/src/operations.js';
import { deleteKeys } from '../tests/support/redis.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import { connectGraphqlWs, graphqlCaller } from './clients.js';
import { startServerProcess } from './server-process.js';

const messageCount = Number(process.env.BENCH_MESSAGES ?? 5000);
const naiveMessageCount = Number(process.env.BENCH_NAIVE_MESSAGES ?? 300);
const nodeCount = Number(process.env.BENCH_NODES ?? 500);
const MESSAGE_LENGTH = 2000;
const OUTPUT_LENGTH = 4096;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(redisUrl);
const runPrefix = `rte-bench-long:${randomBytes(4).toString('hex')}:`;

const text = (length: number, seed: number) => `${seed}:`.padEnd(length, 'lorem ipsum dolor sit amet ').slice(0, length);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Bytes Redis holds under a prefix, by MEMORY USAGE of each key: the shared Redis may be busy. */
async function memoryUnder(prefix: string): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) total += Number((await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
  } while (cursor !== '0');
  return total;
}

/** Every mutation and query of this benchmark carries the producer's token. */
const call = graphqlCaller(await signToken({ sub: 'bench-long-run', projects: ['*'], expiresIn: 3600 }));

/** Times each call; returns the medians of the first and of the last 100. */
async function timed(count: number, action: (index: number) => Promise<unknown>) {
  const latencies: number[] = [];
  for (let index = 0; index < count; index++) {
    const start = performance.now();
    await action(index);
    latencies.push(performance.now() - start);
  }
  const first = median(latencies.slice(0, 100));
  const last = median(latencies.slice(-100));
  return { first, last, ratio: last / first };
}

interface Row {
  name: string;
  events: number;
  first: number;
  last: number;
  ratio: number;
  contentBytes: number;
  memoryBytes: number;
  /** Largest frame minus the size of its change, bytes; undefined without a subscriber. */
  overhead?: number;
  bytesPerEvent?: number;
  changeBytes?: number;
}

/** Where a subscriber of the project starts, as the hooks do: the cursor of a snapshot. */
async function snapshotCursor(url: string, projectId: string): Promise<string> {
  return (await call(url, `query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor } }`, { projectId })).projectSnapshot.cursor;
}

/** A graphql-ws subscriber of `projectId`, with a token of its own, that counts the bytes of every frame it receives. */
async function frameCounter(url: string, projectId: string) {
  let bytes = 0;
  let frames = 0;
  let largest = 0;
  const token = await signToken({ sub: `bench-viewer-${projectId}`, projects: [projectId], scope: 'events:read', expiresIn: 3600 });
  const client = await connectGraphqlWs(url, token, {
    webSocketImpl: class extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.on('message', (data: Buffer) => {
          if (!data.toString('latin1', 0, 80).includes('"type":"next"')) return;
          bytes += data.length;
          frames++;
          largest = Math.max(largest, data.length);
        });
      }
    },
  });
  return {
    client,
    stats: () => ({ bytes, frames, largest }),
    /** Starts counting afresh, from the measured phase on. */
    reset() {
      bytes = frames = largest = 0;
    },
  };
}

async function waitUntil(condition: () => boolean, what: string) {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function agentRunOnServer(url: string, prefix: string): Promise<Row> {
  const projectId = 'long-run';
  const run = (await call(url, `mutation { startAgentRun(projectId: "${projectId}", agent: "bench") { id } }`, {})).startAgentRun;
  const counter = await frameCounter(url, projectId);
  let received = 0;
  const startAfter = await snapshotCursor(url, projectId);
  counter.client.subscribe({ query: print(AgentRunStream), variables: { projectId, runId: run.id, after: startAfter } }, {
    next: () => void received++,
    error: (error) => console.error(error),
    complete: () => {},
  });
  const append = `mutation ($runId: ID!, $content: String!) { appendAgentMessage(runId: $runId, role: ASSISTANT, content: $content) { id } }`;
  // Step updates until one arrives: the subscriber is live from then on.
  const step = `mutation ($runId: ID!) { updateAgentStep(runId: $runId, stepId: "warm-up", name: "warm up", status: RUNNING) { id } }`;
  while (received === 0) {
    await call(url, step, { runId: run.id });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const before = await memoryUnder(prefix);
  counter.reset();
  const live = received;
  const latency = await timed(messageCount, (index) => call(url, append, { runId: run.id, content: text(MESSAGE_LENGTH, index) }));
  await waitUntil(() => received >= live + messageCount, 'every message event');
  const after = await memoryUnder(prefix);
  const stats = counter.stats();
  await counter.client.dispose();
  const { frames } = stats;
  return {
    name: `this server: agent run, ${messageCount} messages`,
    events: frames,
    ...latency,
    contentBytes: messageCount * MESSAGE_LENGTH,
    memoryBytes: after - before,
    bytesPerEvent: stats.bytes / frames,
    changeBytes: MESSAGE_LENGTH,
    overhead: stats.largest - MESSAGE_LENGTH,
  };
}

async function workflowOnServer(url: string, prefix: string): Promise<Row> {
  const projectId = 'long-workflow';
  const nodeIds = Array.from({ length: nodeCount }, (_, index) => `node-${index}`);
  const counter = await frameCounter(url, projectId);
  let received = 0;
  const startAfter = await snapshotCursor(url, projectId);
  counter.client.subscribe({ query: print(WorkflowStream), variables: { projectId, after: startAfter } }, {
    next: () => void received++,
    error: (error) => console.error(error),
    complete: () => {},
  });
  // Start runs until one's event arrives: the subscriber is live from then on.
  let flow: { id: string } | undefined;
  const start = `mutation ($nodeIds: [ID!]!) { startWorkflowRun(projectId: "${projectId}", workflowId: "bench", nodeIds: $nodeIds) { id } }`;
  while (received === 0) {
    await call(url, start, { nodeIds: ['warm-up'] });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const before = await memoryUnder(prefix);
  flow = (await call(url, `mutation ($nodeIds: [ID!]!) { startWorkflowRun(projectId: "${projectId}", workflowId: "bench", nodeIds: $nodeIds) { id } }`, { nodeIds })).startWorkflowRun as { id: string };
  const live = received;
  await waitUntil(() => received >= live + 1, 'the start event');
  counter.reset();
  const update = `mutation ($runId: ID!, $nodeId: ID!, $status: NodeStatus!, $output: String) {
    updateWorkflowNodeState(runId: $runId, nodeId: $nodeId, status: $status, output: $output) { id }
  }`;
  const statuses = ['RUNNING', 'RUNNING', 'SUCCEEDED'];
  const updates = nodeCount * 3;
  const latency = await timed(updates, (index) =>
    call(url, update, { runId: flow!.id, nodeId: nodeIds[index % nodeCount], status: statuses[Math.floor(index / nodeCount)], output: text(OUTPUT_LENGTH, index) }),
  );
  await waitUntil(() => received >= live + 1 + updates, 'every node event');
  const after = await memoryUnder(prefix);
  const stats = counter.stats();
  await counter.client.dispose();
  const { frames } = stats;
  return {
    name: `this server: workflow, ${nodeCount} nodes x 3 updates`,
    events: frames,
    ...latency,
    contentBytes: updates * OUTPUT_LENGTH,
    memoryBytes: after - before,
    bytesPerEvent: stats.bytes / frames,
    changeBytes: OUTPUT_LENGTH,
    overhead: stats.largest - OUTPUT_LENGTH,
  };
}

/** Whole-run events, as before: each append stores, logs and publishes every earlier message too. */
async function naive(prefix: string): Promise<Row> {
  const messages: Array<{ id: string; role: string; content: string; createdAt: string }> = [];
  const latency = await timed(naiveMessageCount, async (index) => {
    messages.push({ id: `m${index}`, role: 'ASSISTANT', content: text(MESSAGE_LENGTH, index), createdAt: new Date().toISOString() });
    const run = JSON.stringify({ id: 'run', status: 'RUNNING', messages });
    await redis
      .multi()
      .hset(`${prefix}run`, 'd', run)
      .xadd(`${prefix}log`, '*', 'e', run)
      .publish(`${prefix}events`, run)
      .exec();
  });
  return { name: `naive: whole run per event, ${naiveMessageCount} messages`, events: naiveMessageCount, ...latency, contentBytes: naiveMessageCount * MESSAGE_LENGTH, memoryBytes: await memoryUnder(prefix) };
}

/** The change alone, straight to Redis: the floor for storing, logging and publishing it. */
async function raw(prefix: string): Promise<Row> {
  const latency = await timed(messageCount, async (index) => {
    const message = JSON.stringify({ id: `m${index}`, role: 'ASSISTANT', content: text(MESSAGE_LENGTH, index) });
    await redis.multi().rpush(`${prefix}messages`, message).xadd(`${prefix}log`, '*', 'e', message).publish(`${prefix}events`, message).exec();
  });
  return { name: `raw limit: message alone, ${messageCount} messages`, events: messageCount, ...latency, contentBytes: messageCount * MESSAGE_LENGTH, memoryBytes: await memoryUnder(prefix) };
}

const serverPrefix = `${runPrefix}server:`;
const server = await startServerProcess({
  NODE_ENV: 'production',
  AUTH_JWT_SECRET: TEST_SECRET,
  MUTATIONS_PER_SECOND: '100000',
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: serverPrefix,
  LOG_LEVEL: 'info',
  MAX_MESSAGES_PER_RUN: String(messageCount + 10),
});
const rows: Row[] = [];
try {
  // Warm the server up first, so the first 100 measured are not its compile time.
  const warmUp = (await call(server.url, `mutation { startAgentRun(projectId: "warm-up", agent: "bench") { id } }`, {})).startAgentRun;
  for (let index = 0; index < 300; index++) {
    await call(server.url, `mutation ($runId: ID!, $content: String!) { appendAgentMessage(runId: $runId, role: ASSISTANT, content: $content) { id } }`, {
      runId: warmUp.id,
      content: text(MESSAGE_LENGTH, index),
    });
  }
  rows.push(await agentRunOnServer(server.url, serverPrefix));
  rows.push(await workflowOnServer(server.url, serverPrefix));
  rows.push(await naive(`${runPrefix}naive:`));
  rows.push(await raw(`${runPrefix}raw:`));
} finally {
  await server.stop();
  await deleteKeys(redis, runPrefix);
  await redis.quit();
}

const format = (value: number | undefined, digits = 1) => (value === undefined ? '—' : value.toFixed(digits));
console.log(`\nLong runs on Redis (${redisUrl}), side by side (medians of the first and last 100 mutations):\n`);
console.log('| workload | first 100 (ms) | last 100 (ms) | last ÷ first | Redis bytes ÷ content bytes | bytes received per event | largest frame − change (bytes) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) {
  console.log(
    `| ${row.name} | ${format(row.first, 2)} | ${format(row.last, 2)} | ${format(row.ratio, 2)} | ${format(row.memoryBytes / row.contentBytes, 2)} | ${row.bytesPerEvent === undefined ? '—' : `${row.bytesPerEvent.toFixed(0)} (change ${row.changeBytes})`} | ${format(row.overhead, 0)} |`,
  );
}
console.log('\nGoals for this server: last ÷ first ≤ 1.5; Redis bytes ÷ content bytes ≤ 3; largest frame − change ≤ 1024.');
