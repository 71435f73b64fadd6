import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { REFUSALS_BEFORE_CLOSE } from '../src/transport/graphql-ws/websocket.js';
import { connectWebSocket, mutate, subscribeOverSse, subscribeOverWebSocket, webSocketUrl } from './support/clients.js';
import { CREATE_JOB, INGEST_JOB_STREAM } from './support/operations.js';
import { openPlainWebSocket, plainStreamUrl } from './support/plain-clients.js';
import { createAppPool, testConfig } from './support/servers.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { createTeardown } from './support/teardown.js';
import { waitFor } from './support/wait-for.js';

const pool = createAppPool();
afterEach(() => pool.stopAll());
const teardown = createTeardown();

function start(limits: Partial<Config['limits']> = {}, overrides: Partial<Config> = {}): Promise<App> {
  const base = testConfig('memory', 'unused:');
  return pool.start({ ...base, auth: { kind: 'secret', secret: TEST_SECRET }, ...overrides, limits: { ...base.limits, ...limits } });
}

async function tokenFor(sub: string): Promise<Record<string, string>> {
  return { authorization: bearer(await signToken({ sub })) };
}

function connect(app: App, headers: Record<string, string>) {
  const client = connectWebSocket(app.url, { connectionParams: headers });
  teardown.push(() => client.dispose());
  return client;
}

function subscribe(app: App, headers: Record<string, string>, query: string, variables: Record<string, unknown>, client = connect(app, headers)) {
  const subscription = subscribeOverWebSocket<any>(client, query, variables);
  teardown.push(() => subscription.dispose());
  return subscription;
}

const codeOf = (errors: unknown) => (errors as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code;

describe('audiences', () => {
  it('share on meaning: comments, layout, field order and variable order do not split one', async () => {
    const app = await start();
    const headers = await tokenFor('reader');
    const projectId = 'meaning';
    const variants = [
      `subscription ($projectId: ID!, $jobId: ID) { ingestJob(projectId: $projectId, jobId: $jobId) { cursor type job { id status } } }`,
      `# 1\nsubscription ($projectId: ID!, $jobId: ID) {\n  ingestJob(projectId: $projectId, jobId: $jobId) {\n    cursor # the position\n    type\n    job { id status }\n  }\n}`,
      `subscription ($jobId: ID, $projectId: ID!) { ingestJob(projectId: $projectId, jobId: $jobId) { job { status id } type cursor } }`,
    ];
    const client = connect(app, headers);
    const subscriptions = variants.map((query) => subscribe(app, headers, query, { projectId }, client));
    await waitFor(() => app.subscriberCount() === variants.length, { what: 'every subscriber' });
    expect(app.audienceCount()).toBe(1);

    const job = (await mutate<any>(app.url, CREATE_JOB, { projectId, source: 'meaning' }, headers)).createIngestJob;
    for (const subscription of subscriptions) {
      const [result] = await subscription.waitForResults(1);
      expect(result.ingestJob).toEqual({ cursor: expect.any(String), type: 'INGEST_JOB_CREATED', job: { id: job.id, status: 'PENDING' } });
    }
  });

  it('are at most MAX_AUDIENCES_PER_PROJECT per project; joining one that runs is still allowed', async () => {
    const app = await start({ maxAudiencesPerProject: 2 });
    const headers = await tokenFor('reader');
    const projectId = 'audience-cap';
    const client = connect(app, headers);
    subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'a' }, client);
    subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'b' }, client);
    await waitFor(() => app.audienceCount() === 2, { what: 'two audiences' });

    const third = subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'c' }, client);
    expect(codeOf(await third.waitForError())).toBe('RATE_LIMITED');
    // Another project has its own audiences.
    subscribe(app, headers, INGEST_JOB_STREAM, { projectId: 'audience-cap-other', jobId: 'c' }, client);
    const again = subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'a' }, client);
    await waitFor(() => app.subscriberCount() === 4, { what: 'the joins' });
    expect(again.errors).toEqual([]);
  });
});

describe('subscriptions per subject', () => {
  it('are at most MAX_SUBSCRIPTIONS_PER_SUBJECT over all its connections and transports', async () => {
    const app = await start({ maxSubscriptionsPerSubject: 2 });
    const headers = await tokenFor('greedy');
    const projectId = 'subject-cap';
    subscribe(app, headers, INGEST_JOB_STREAM, { projectId });
    const overSse = subscribeOverSse<any>(app.url, INGEST_JOB_STREAM, { projectId, jobId: 'x' }, headers);
    teardown.push(() => overSse.dispose());
    await waitFor(() => app.subscriberCount() === 2, { what: 'two subscriptions' });

    // A third connection of the same subject: its subscription is refused, over each transport.
    const overWs = subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'y' });
    expect(codeOf(await overWs.waitForError())).toBe('RATE_LIMITED');
    // A directive keeps it out of audiences: it executes on its own, and is counted all the same.
    const privateOne = subscribe(app, headers, `subscription ($p: ID!) { ingestJob(projectId: $p) @include(if: true) { cursor } }`, { p: projectId });
    expect(codeOf(await privateOne.waitForError())).toBe('RATE_LIMITED');
    const plain = openPlainWebSocket(plainStreamUrl(app.url, `/api/stream/projects/${projectId}`, 'ws'), { headers });
    teardown.push(() => plain.socket.terminate());
    expect(await plain.closed).toEqual({ code: 4421, reason: 'RATE_LIMITED' });

    // Another subject is not held back.
    const other = await tokenFor('someone-else');
    const served = subscribe(app, other, INGEST_JOB_STREAM, { projectId });
    await waitFor(() => app.subscriberCount() === 3, { what: 'the other subject' });
    expect(served.errors).toEqual([]);

    // A slot comes back when a subscription ends.
    overSse.dispose();
    await waitFor(() => app.subscriberCount() === 2, { what: 'the SSE subscription to end' });
    const later = subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'z' });
    await waitFor(() => app.subscriberCount() === 3, { what: 'the later subscription' });
    expect(later.errors).toEqual([]);
  });
});

describe('subscription starts', () => {
  it('are at most SUBSCRIPTIONS_PER_SECOND a second per subject, in bursts of twice that; one more is refused with RATE_LIMITED and retryAfter', async () => {
    const app = await start({ subscriptionsPerSecond: 1 });
    const headers = await tokenFor('churner');
    const projectId = 'subscription-starts';
    subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'a' });
    subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'b' });
    await waitFor(() => app.subscriberCount() === 2, { what: 'the burst of two' });

    // Another connection of the same subject draws on the same bucket.
    const client = connect(app, headers);
    const third = subscribe(app, headers, INGEST_JOB_STREAM, { projectId, jobId: 'c' }, client);
    const [error] = (await third.waitForError()) as Array<{ extensions?: { code?: string; retryAfter?: number } }>;
    expect(error?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1 });

    // Mutations over the same socket are not subscriptions: MUTATIONS_PER_SECOND counts them.
    const created = subscribeOverWebSocket<any>(client, CREATE_JOB, { projectId, source: 'over-ws' });
    teardown.push(() => created.dispose());
    const [result] = await created.waitForResults(1);
    expect(result.createIngestJob.source).toBe('over-ws');

    // Another subject has a bucket of its own.
    subscribe(app, await tokenFor('someone-else'), INGEST_JOB_STREAM, { projectId });
    await waitFor(() => app.subscriberCount() === 3, { what: 'the other subject' });
  });

  it('close a connection refused REFUSALS_BEFORE_CLOSE times in a row with 4421, and answer nothing it sent after', async () => {
    const app = await start({ subscriptionsPerSecond: 1 });
    const { authorization } = await tokenFor('flooder');
    const socket = new WebSocket(webSocketUrl(app.url), 'graphql-transport-ws');
    teardown.push(() => socket.terminate());
    const answered = new Map<string, string>();
    const sent = 2 + REFUSALS_BEFORE_CLOSE + 30;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; id?: string; payload?: Array<{ extensions?: { code?: string } }> };
      if (message.type === 'connection_ack') {
        for (let index = 0; index < sent; index++) {
          const payload = { query: `# ${index}\n${INGEST_JOB_STREAM}`, variables: { projectId: 'flood', jobId: String(index) } };
          socket.send(JSON.stringify({ id: String(index), type: 'subscribe', payload }));
        }
        return;
      }
      answered.set(message.id!, message.type === 'error' ? String(message.payload?.[0]?.extensions?.code) : message.type);
    });
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );

    expect(closed).toEqual({ code: 4421, reason: 'Too many refused operations' });
    // The burst of two was accepted and answered nothing yet; the refusals before the close
    // were answered (those still on their way when it closed are dropped), nothing after them.
    expect(answered.size).toBeGreaterThan(0);
    for (const [id, answer] of answered) {
      expect(answer).toBe('RATE_LIMITED');
      expect(Number(id)).toBeGreaterThanOrEqual(2);
      expect(Number(id)).toBeLessThan(2 + REFUSALS_BEFORE_CLOSE - 1);
    }
  });
});
