import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { mutate } from './support/clients.js';
import { CREATE_JOB, START_WORKFLOW, UPDATE_NODE, UPDATE_PROGRESS } from './support/operations.js';
import { parseSse } from './support/plain-clients.js';
import type { ServerProcess } from './support/processes.js';
import { scrapeMetric, spawnServer } from './support/processes.js';
import { REDIS_URL, redisForTests } from './support/redis.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { waitFor } from './support/wait-for.js';

const { prefix } = redisForTests('plain-process');
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

function startServer(env: Record<string, string>): ServerProcess {
  const server = spawnServer({ REDIS_URL, REDIS_KEY_PREFIX: prefix, AUTH_JWT_SECRET: TEST_SECRET, ...env });
  children.add(server.child);
  return server;
}

/** `curl -N` as docs/plain-streams.md shows it, its output collected as it arrives. */
function curl(...args: string[]) {
  const child = spawn('curl', ['-N', '-s', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  return {
    get output() {
      return output;
    },
    exited: once(child, 'exit').then(([code]) => code as number | null),
  };
}

describe('plain SSE read by curl', () => {
  it('streams id, event and data lines to curl -N, ends when the server drains, and logs no token', async () => {
    const server = startServer({ DRAIN_GRACE_MS: '200' });
    const url = await server.listening;
    const origin = new URL(url).origin;
    const token = await signToken({ sub: 'curl', projects: ['curl-project'], scope: 'events:read' });
    const admin = { authorization: bearer(await signToken()) };

    // Refusals are a status and a JSON body, readable with curl too.
    const refusal = await promisify(execFile)('curl', ['-s', '-w', '\n%{http_code}', `${origin}/api/stream/projects/curl-project`]);
    expect(refusal.stdout).toBe('{"code":"UNAUTHENTICATED","message":"missing Authorization: Bearer <token>"}\n401');

    const stream = curl('-H', 'Accept: text/event-stream', `${origin}/api/stream/projects/curl-project?types=ingest.job.updated,workflow.node_state.updated&access_token=${token}`);
    await waitFor(async () => (await scrapeMetric(url, 'rte_subscriptions{field="projectEvents",mode="shared"}')) === 1, {
      what: "curl's stream",
    });
    const job = (await mutate(url, CREATE_JOB, { projectId: 'curl-project', source: 'curl' }, admin)).createIngestJob;
    await mutate(url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 }, admin);
    const flow = (await mutate(url, START_WORKFLOW, { projectId: 'curl-project', workflowId: 'w', nodeIds: ['n'] }, admin)).startWorkflowRun;
    await mutate(url, UPDATE_NODE, { runId: flow.id, nodeId: 'n', status: 'SUCCEEDED', output: 'marker' }, admin);
    await waitFor(() => stream.output.includes('"output":"marker"'), { what: 'the marker in curl\'s output' });

    const { events, retry } = parseSse(stream.output);
    expect(retry).toBe(1000);
    expect(events.map((event) => event.event)).toEqual(['ingest.job.updated', 'workflow.node_state.updated']);
    for (const event of events) {
      const message = JSON.parse(event.data);
      expect(message).toMatchObject({ type: event.event, cursor: event.id, projectId: 'curl-project' });
    }
    expect(JSON.parse(events[0]!.data).job).toMatchObject({ id: job.id, progress: 0.5, status: 'RUNNING' });
    expect(JSON.parse(events[1]!.data).nodeState).toEqual({
      nodeId: 'n',
      status: 'SUCCEEDED',
      output: 'marker',
      error: null,
      updatedAt: expect.any(String),
    });

    // Draining ends the stream; curl sees a complete response and exits cleanly.
    server.child.kill('SIGTERM');
    expect(await stream.exited).toBe(0);
    expect((await server.exited).code).toBe(0);
    const logged = JSON.stringify(server.logs);
    expect(logged).not.toContain(token.split('.')[2]);
    const opened = server.logs.find((entry) => entry.msg === 'connection opened' && entry.transport === 'sse-plain')!;
    expect(opened.url).toBe('/api/stream/projects/curl-project?types=ingest.job.updated,workflow.node_state.updated&access_token=REDACTED');
  });
});
