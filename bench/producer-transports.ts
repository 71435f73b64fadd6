/**
 * What one mutation costs the server on each transport of the producer package: `http`
 * (a POST per mutation over keep-alive connections), `websocket` (one graphql-ws socket,
 * each mutation a subscribe message) and `batch` (the mutations ready within 5 ms share one
 * POST). BENCH_STREAMS (20) messages are streamed at once, each sending
 * BENCH_APPENDS (300) appends at their offsets, one after the other, with an idempotency key
 * each, against one server process on Redis, in production mode with authentication on.
 * Prints mutations/s and server CPU per mutation for each, and whether every text is exact.
 *
 *   npm run bench:producer
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createProducer } from '../producer/src/index.js';
import type { Producer } from '../producer/src/index.js';
import { deleteKeys } from '../tests/support/redis.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import { startServerProcess } from './server-process.js';
import WebSocket from 'ws';

const streams = Number(process.env.BENCH_STREAMS ?? 20);
const appends = Number(process.env.BENCH_APPENDS ?? 300);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `rte-bench-producer:${randomBytes(4).toString('hex')}:`;

/** Sends one append at `offset`; each transport under test provides one. */
type Append = (variables: { runId: string; messageId: string; text: string; offset: number }) => Promise<void>;

interface Result {
  name: string;
  mutationsPerSecond: number;
  cpuMsPerMutation: number;
  exact: boolean;
}

const server = await startServerProcess({
  NODE_ENV: 'production',
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: prefix,
  AUTH_JWT_SECRET: TEST_SECRET,
  MUTATIONS_PER_SECOND: '100000',
});
const token = await signToken({ sub: 'bench-producer', projects: ['*'], expiresIn: 3600 });
const setup = createProducer({ url: server.url, token });

async function measure(name: string, append: Append): Promise<Result> {
  const messages = await Promise.all(
    Array.from({ length: streams }, async () => {
      const run = await setup.startAgentRun({ projectId: 'bench', agent: 'transports' });
      const message = await setup.startAgentMessage({ runId: run.id, role: 'ASSISTANT' });
      return { runId: run.id, messageId: message.id, sent: '' };
    }),
  );
  const cpuBefore = server.cpuMs();
  const started = performance.now();
  await Promise.all(
    messages.map(async (message) => {
      for (let index = 0; index < appends; index++) {
        const text = `${index} token `;
        await append({ runId: message.runId, messageId: message.messageId, text, offset: message.sent.length });
        message.sent += text;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = server.cpuMs() - cpuBefore;
  const finished = await Promise.all(messages.map((message) => setup.finishAgentMessage({ runId: message.runId, messageId: message.messageId })));
  const total = streams * appends;
  return {
    name,
    mutationsPerSecond: total / seconds,
    cpuMsPerMutation: cpuMs / total,
    exact: finished.every((message, index) => message.content === messages[index]!.sent),
  };
}

/** Through the producer package's own method, so retries and keys are as in production. */
const viaProducer = (producer: Producer): Append => async (variables) => {
  await producer.appendAgentMessageContent(variables);
};

const results: Result[] = [];
const redis = new Redis(redisUrl);
try {
  // Warm-up: the server's first requests pay for JIT compilation.
  await measure('warm-up', viaProducer(setup));
  const http = createProducer({ url: server.url, token });
  results.push(await measure('HTTP keep-alive (producer `http`)', viaProducer(http)));
  await http.close();

  const websocket = createProducer({ url: server.url, token, transport: 'websocket', webSocketImpl: WebSocket });
  results.push(await measure('graphql-ws (producer `websocket`, one socket)', viaProducer(websocket)));
  await websocket.close();

  const batch = createProducer({ url: server.url, token, transport: 'batch' });
  results.push(await measure('batched HTTP (producer `batch`, 5 ms, up to 10)', viaProducer(batch)));
  await batch.close();
} finally {
  await setup.close();
  await server.stop();
  await deleteKeys(redis, prefix);
  await redis.quit();
}

console.log(`\n${streams} messages streamed at once, ${appends} appends each (${streams * appends} per transport), Redis, auth on:\n`);
console.log('| transport | mutations/s | server CPU per mutation | every text exact |');
console.log('| --- | ---: | ---: | --- |');
for (const result of results) {
  console.log(`| ${result.name} | ${result.mutationsPerSecond.toFixed(0)} | ${result.cpuMsPerMutation.toFixed(3)} ms | ${result.exact ? 'yes' : 'NO'} |`);
}
const cheapest = results.reduce((best, result) => (result.cpuMsPerMutation < best.cpuMsPerMutation ? result : best));
console.log(`\nCheapest for the server: ${cheapest.name}`);
