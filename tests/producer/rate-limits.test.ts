import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { connectWebSocket, subscribeOverWebSocket } from '../support/clients.js';
import type { RecordedSubscription } from '../support/clients.js';
import { createAppPool, testConfig } from '../support/servers.js';
import { TEST_SECRET, bearer, signToken } from '../support/tokens.js';

const pool = createAppPool();
const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await pool.stopAll();
});

const secured = (limits: Partial<Config['limits']>) =>
  pool.start(
    testConfig('memory', 'unused:', {
      auth: { kind: 'secret', secret: TEST_SECRET },
      limits: { ...testConfig('memory', '').limits, ...limits },
    }),
  );

/** `count` job creations in one document, each under an alias of its own. */
const aliased = (count: number) =>
  `mutation { ${Array.from({ length: count }, (_, index) => `job${index}: createIngestJob(projectId: "p", source: "s${index}") { id }`).join(' ')} }`;

async function post(url: string, query: string, token: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: bearer(token) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { data?: unknown; errors?: Array<{ extensions: Record<string, unknown> }> } };
}

describe('mutation rate limits', () => {
  it('count each mutation field, not each document', async () => {
    // A bucket of 20: one document of 15 aliased creations leaves 5, so the next 15 are refused whole.
    const app = await secured({ mutationsPerSecond: 10 });
    const token = await signToken({ sub: 'aliaser' });
    const first = await post(app.url, aliased(15), token);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-remaining')).toBe('5');
    const second = await post(app.url, aliased(15), token);
    expect(second.status).toBe(429);
    expect(second.body.data ?? null).toBeNull();
    expect((await post(app.url, aliased(5), token)).status).toBe(200);
  });

  it('answer RATE_LIMITED over HTTP with Retry-After and the standard rate-limit headers', async () => {
    const app = await secured({ mutationsPerSecond: 2 });
    const token = await signToken({ sub: 'hasty' });
    const allowed = await post(app.url, aliased(1), token);
    expect([allowed.headers.get('ratelimit-limit'), allowed.headers.get('ratelimit-remaining'), allowed.headers.get('ratelimit-reset')]).toEqual(['4', '3', '1']);
    await post(app.url, aliased(3), token);
    const refused = await post(app.url, aliased(2), token);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.body.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 1 });
    // Queries are not mutations: they are not counted and carry no rate-limit headers.
    const query = await post(app.url, `query { ingestJobs(projectId: "p") { id } }`, token);
    expect([query.status, query.headers.get('ratelimit-limit')]).toEqual([200, null]);
  });

  it('answer RATE_LIMITED over WebSocket with extensions.retryAfter', async () => {
    const app = await secured({ mutationsPerSecond: 1 });
    const token = await signToken({ sub: 'socket' });
    const client = connectWebSocket(app.url, { connectionParams: { authorization: bearer(token) } });
    cleanups.push(() => client.dispose());
    const send = (query: string) => {
      const subscription: RecordedSubscription<unknown> = subscribeOverWebSocket(client, query);
      cleanups.push(() => subscription.dispose());
      return subscription;
    };
    await send(aliased(2)).waitForResults(1);
    const refused = (await send(aliased(1)).waitForError()) as Array<{ extensions: Record<string, unknown> }>;
    expect(refused[0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 1 });
  });

  it('refuse an operation larger than the whole bucket as bad input: waiting would not help', async () => {
    const app = await secured({ mutationsPerSecond: 2 });
    const refused = await post(app.url, aliased(5), await signToken({ sub: 'greedy' }));
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(refused.body.errors![0]!.extensions.code).toBe('BAD_USER_INPUT');
  });
});
