/**
 * What a subscribe costs: 1,000 subscriptions with one document (parsed and validated once,
 * sharing one audience) against 1,000 distinct documents (each parsed, validated and
 * executed on its own), over the same 10 WebSocket connections, in one run.
 *
 *   npm run bench:subscribe
 */
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 1000);
const CONNECTIONS = 10;

async function run(label: string, documentFor: (index: number) => string): Promise<number> {
  const app = createApp({ ...loadConfig({}), port: 0, logLevel: 'silent', limits: { ...loadConfig({}).limits, maxSubscriptionsPerConnection: SUBSCRIPTIONS } });
  await app.start();
  const clients: Client[] = [];
  try {
    for (let index = 0; index < CONNECTIONS; index++) {
      const client = createClient({ url: app.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
      await new Promise<void>((resolve) => client.on('connected', () => resolve()));
      clients.push(client);
    }
    const started = performance.now();
    for (let index = 0; index < SUBSCRIPTIONS; index++) {
      clients[index % CONNECTIONS]!.subscribe({ query: documentFor(index), variables: { projectId: 'subscribe-cost' } }, { next: () => {}, error: () => {}, complete: () => {} });
    }
    while (app.subscriberCount() < SUBSCRIPTIONS) await new Promise((resolve) => setImmediate(resolve));
    const micros = ((performance.now() - started) * 1000) / SUBSCRIPTIONS;
    console.log(`${label.padEnd(34)} ${micros.toFixed(0).padStart(6)} µs per subscribe, ${app.audienceCount()} audience(s)`);
    return micros;
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await app.stop();
  }
}

const FIELDS = 'cursor type projectId occurredAt ... on IngestJobEvent { job { id source status progress message updatedAt } }';
console.log(`${SUBSCRIPTIONS} subscriptions over ${CONNECTIONS} WebSocket connections, in process:`);
const same = await run('one document for all', () => `subscription S($projectId: ID!) { projectEvents(projectId: $projectId) { ${FIELDS} } }`);
const distinct = await run('a distinct document each', (index) => `subscription S${index}($projectId: ID!) { projectEvents(projectId: $projectId) { ${FIELDS} } }`);
console.log(`one shared document costs ${((same / distinct) * 100).toFixed(0)}% of distinct ones per subscribe`);
