/**
 * What a subscribe costs: 1,000 subscriptions with one document (parsed and validated once,
 * sharing one audience) against 1,000 distinct documents (each parsed, validated and
 * executed on its own), over the same 10 WebSocket connections, in one run. The document is
 * the client library's own `IngestJobStream` (distinct ones rename its operation), with
 * authentication on: each connection presents a token of its own, and each subscribe starts
 * after a snapshot's cursor.
 *
 *   npm run bench:subscribe
 */
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { IngestJobStream } from '../client/src/operations.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import { connectGraphqlWs, graphqlCaller } from './clients.js';

const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 1000);
const CONNECTIONS = 10;
const PROJECT = 'subscribe-cost';

async function run(label: string, documentFor: (index: number) => string): Promise<number> {
  const config = loadConfig({ AUTH_JWT_SECRET: TEST_SECRET });
  const app = createApp({ ...config, port: 0, logLevel: 'silent', limits: { ...config.limits, maxSubscriptionsPerConnection: SUBSCRIPTIONS } });
  await app.start();
  const clients: Client[] = [];
  try {
    const call = graphqlCaller(await signToken({ sub: 'bench-producer', projects: [PROJECT], expiresIn: 3600 }));
    const snapshot = await call(app.url, 'query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor } }', { projectId: PROJECT });
    const after = snapshot.projectSnapshot.cursor as string;
    for (let index = 0; index < CONNECTIONS; index++) {
      const token = await signToken({ sub: `bench-viewer-${index}`, projects: [PROJECT], scope: 'events:read', expiresIn: 3600 });
      clients.push(await connectGraphqlWs(app.url, token));
    }
    const started = performance.now();
    for (let index = 0; index < SUBSCRIPTIONS; index++) {
      clients[index % CONNECTIONS]!.subscribe({ query: documentFor(index), variables: { projectId: PROJECT, after } }, { next: () => {}, error: () => {}, complete: () => {} });
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

const DOCUMENT = print(IngestJobStream);
console.log(`${SUBSCRIPTIONS} subscriptions over ${CONNECTIONS} WebSocket connections, in process:`);
const same = await run('one document for all', () => DOCUMENT);
const distinct = await run('a distinct document each', (index) => DOCUMENT.replace('subscription IngestJobStream', `subscription IngestJobStream${index}`));
console.log(`one shared document costs ${((same / distinct) * 100).toFixed(0)}% of distinct ones per subscribe`);
