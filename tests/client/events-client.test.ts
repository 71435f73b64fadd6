import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { backoffDelay, createEventsClient } from '../../client/src/events-client.js';
import type { EventsClient } from '../../client/src/events-client.js';
import { IngestJobStream, ProjectSnapshotQuery } from '../../client/src/operations.js';
import type { IngestJobStreamSubscription } from '../../client/src/generated/graphql.js';
import type { App } from '../../src/app.js';
import { mutate } from '../support/clients.js';
import { CREATE_JOB, UPDATE_PROGRESS, cursorSeq } from '../support/operations.js';
import { freePort } from '../support/processes.js';
import { redisForTests } from '../support/redis.js';
import { createAppPool, testConfig } from '../support/servers.js';
import { TEST_SECRET, bearer, signToken } from '../support/tokens.js';
import { createTeardown } from '../support/teardown.js';
import { waitFor } from '../support/wait-for.js';

const { prefix } = redisForTests('client');
const pool = createAppPool();
// Registered before the teardown, so it runs after it: clients go before their servers.
afterEach(() => pool.stopAll());
const teardown = createTeardown();

function eventsClient(options: Parameters<typeof createEventsClient>[0]): EventsClient {
  const client = createEventsClient({ webSocketImpl: WebSocket, retryDelayMs: 20, maxRetryDelayMs: 100, ...options });
  teardown.push(() => client.dispose());
  return client;
}

function collect(client: EventsClient, projectId: string, after?: string) {
  const events: IngestJobStreamSubscription['ingestJob'][] = [];
  const errors: unknown[] = [];
  const { unsubscribe } = client.client
    .subscription(IngestJobStream, { projectId, after: after ?? null })
    .subscribe((result) => {
      if (result.error) errors.push(result.error);
      else if (result.data) events.push(result.data.ingestJob);
    });
  teardown.push(unsubscribe);
  return { events, errors, positions: () => events.map((event) => cursorSeq(event.cursor)) };
}

describe('createEventsClient', () => {
  it('backs off exponentially with jitter, within bounds', () => {
    for (let retries = 0; retries < 10; retries++) {
      const delay = backoffDelay(retries, 100, 2000);
      const ceiling = Math.min(2000, 100 * 2 ** retries);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });

  it('queries over HTTP and rides a subscription through a server restart without losing or repeating an event', async () => {
    const port = await freePort();
    const config = testConfig('redis', prefix, { port, auth: { kind: 'secret', secret: TEST_SECRET } });
    let serving: App = await pool.start(config);
    const publisher = await pool.start(testConfig('redis', prefix, { auth: { kind: 'secret', secret: TEST_SECRET } }));
    const admin = { authorization: bearer(await signToken()) };
    let tokensIssued = 0;
    const client = eventsClient({
      url: serving.url,
      token: () => {
        tokensIssued++;
        return signToken({ sub: 'browser' });
      },
    });
    const projectId = 'ride';
    const job = (await mutate(publisher.url, CREATE_JOB, { projectId, source: 's' }, admin)).createIngestJob;
    const snapshot = await client.client.query(ProjectSnapshotQuery, { projectId }).toPromise();
    expect(snapshot.data!.projectSnapshot.ingestJobs.map((listed) => listed.id)).toEqual([job.id]);

    const stream = collect(client, projectId, snapshot.data!.projectSnapshot.cursor);
    await waitFor(() => serving.feeds.subscriberCount(projectId) === 1, { what: 'the subscription' });
    expect(client.status.get()).toBe('live');
    for (let step = 1; step <= 10; step++) await mutate(publisher.url, UPDATE_PROGRESS, { id: job.id, progress: step / 100 }, admin);
    await waitFor(() => stream.events.length === 10, { what: 'the first events' });
    const tokensBefore = tokensIssued;

    await serving.stop();
    await waitFor(() => client.status.get() === 'reconnecting', { what: 'the client to notice' });
    for (let step = 11; step <= 30; step++) await mutate(publisher.url, UPDATE_PROGRESS, { id: job.id, progress: step / 100 }, admin);
    serving = await pool.start(config);
    await waitFor(() => stream.events.length >= 30 && client.status.get() === 'live', { timeoutMs: 10_000, what: 'the replay' });
    for (let step = 31; step <= 35; step++) await mutate(publisher.url, UPDATE_PROGRESS, { id: job.id, progress: step / 100 }, admin);
    await waitFor(() => stream.events.length >= 35, { what: 'live events after the restart' });

    expect(stream.errors).toEqual([]);
    expect(stream.positions()).toEqual(Array.from({ length: 35 }, (_, index) => index + 2));
    expect(stream.events.map((event) => event.job.progress)).toEqual(Array.from({ length: 35 }, (_, index) => (index + 1) / 100));
    // The reconnect asked for a fresh token.
    expect(tokensIssued).toBeGreaterThan(tokensBefore);
  });

  it('subscribes over SSE when asked to, with the same resume', async () => {
    const app = await pool.start(testConfig('memory', prefix));
    const client = eventsClient({ url: app.url, transport: 'sse' });
    const projectId = 'sse-client';
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 's' })).createIngestJob;
    const snapshot = await client.client.query(ProjectSnapshotQuery, { projectId }).toPromise();
    const stream = collect(client, projectId, snapshot.data!.projectSnapshot.cursor);
    await waitFor(() => app.feeds.subscriberCount(projectId) === 1, { what: 'the SSE subscription' });
    await mutate(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 });
    await waitFor(() => stream.events.length === 1, { what: 'the event' });
    expect(stream.events[0]!.job.progress).toBe(0.5);
  });
});
