import { createClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from 'urql';
import WebSocket from 'ws';
import type { IngestJobStreamSubscription } from '../../client/src/generated/graphql.js';
import { IngestJobStream } from '../../client/src/operations.js';
import { resumableExchange } from '../../client/src/resumable-exchange.js';
import type { App } from '../../src/app.js';
import { mutate } from '../support/clients.js';
import { CREATE_JOB, UPDATE_PROGRESS, cursorSeq } from '../support/operations.js';
import { createAppPool, testConfig } from '../support/servers.js';
import { createTeardown } from '../support/teardown.js';
import { waitFor } from '../support/wait-for.js';

const pool = createAppPool();
// Registered before the teardown, so it runs after it: clients go before their servers.
afterEach(() => pool.stopAll());
const teardown = createTeardown();

/** urql with only the exchange under test, over a graphql-ws client that reconnects at once. */
function urqlOver(app: App) {
  let socket: WebSocket | undefined;
  const subscriber = createClient({
    url: app.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 10)),
    on: { connected: (connected) => void (socket = connected as WebSocket) },
  });
  teardown.push(() => subscriber.dispose());
  const client = new Client({ url: app.url, exchanges: [resumableExchange(subscriber)] });
  return { client, cut: () => socket!.terminate() };
}

function collect(client: Client, projectId: string, after: string | null = null) {
  const events: IngestJobStreamSubscription['ingestJob'][] = [];
  const errors: Array<{ extensions?: Record<string, unknown> }> = [];
  const subscription = client.subscription(IngestJobStream, { projectId, after }).subscribe((result) => {
    if (result.error) errors.push(...result.error.graphQLErrors);
    else if (result.data) events.push(result.data.ingestJob);
  });
  teardown.push(() => subscription.unsubscribe());
  return { events, errors, unsubscribe: () => subscription.unsubscribe() };
}

describe('resumableExchange', () => {
  it('resumes a subscription right after its last event when the connection is cut, repeating and losing nothing', async () => {
    const app = await pool.start(testConfig('memory', ''));
    const { client, cut } = urqlOver(app);
    const projectId = 'exchange-resume';
    const stream = collect(client, projectId);
    await waitFor(() => app.subscriberCount() === 1, { what: 'the subscription' });
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 's' })).createIngestJob;
    for (let step = 1; step <= 5; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 100 });
    await waitFor(() => stream.events.length === 6, { what: 'the first events' });

    cut();
    // Changes made while the client is away and while it comes back.
    for (let step = 6; step <= 20; step++) await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: step / 100 });
    await waitFor(() => stream.events.length >= 21, { what: 'the replay' });
    const positions = stream.events.map((event) => cursorSeq(event.cursor));
    expect(positions).toEqual(Array.from({ length: 21 }, (_, index) => index + 1));
    expect(stream.errors).toEqual([]);
  });

  it('ends the server-side subscription when urql unsubscribes', async () => {
    const app = await pool.start(testConfig('memory', ''));
    const { client } = urqlOver(app);
    const stream = collect(client, 'exchange-teardown');
    await waitFor(() => app.subscriberCount() === 1, { what: 'the subscription' });
    stream.unsubscribe();
    await waitFor(() => app.subscriberCount() === 0 && app.feeds.subscriberCount() === 0, { what: 'the server to release it' });
  });

  it('hands a cursor the server cannot resume from to the result as CURSOR_EXPIRED', async () => {
    const app = await pool.start(testConfig('memory', ''));
    const { client } = urqlOver(app);
    const stream = collect(client, 'exchange-expired', 'someotherepoch:3');
    await waitFor(() => stream.errors.length > 0, { what: 'the refusal' });
    expect(new Set(stream.errors.map((error) => error.extensions?.code))).toEqual(new Set(['CURSOR_EXPIRED']));
    expect(stream.events).toEqual([]);
  });
});
