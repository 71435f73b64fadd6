import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { createRedisKeys } from '../src/store/redis-keys.js';
import type { GraphQLResponse } from './support/clients.js';
import { connectWebSocket, mutate, request } from './support/clients.js';
import type { FaultProxy } from './support/fault-proxy.js';
import { startFaultProxy } from './support/fault-proxy.js';
import {
  APPEND_MESSAGE,
  COMPLETE_JOB,
  COMPLETE_RUN,
  CREATE_JOB,
  FAIL_JOB,
  FAIL_RUN,
  FINISH_MESSAGE,
  FINISH_WORKFLOW,
  JOBS,
  RUN,
  RUNS,
  START_MESSAGE,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  UPDATE_STEP,
  WORKFLOWS,
} from './support/operations.js';
import { shardsOfProjects } from './support/cluster.js';
import { clusterNodes, createRedis, redisForTests } from './support/redis.js';
import { createRandom } from './support/random.js';
import { startPrivateRedis } from './support/processes.js';
import { createAppPool, testConfig } from './support/servers.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { watchProject } from './support/project-watch.js';
import { createTeardown } from './support/teardown.js';
import { waitFor } from './support/wait-for.js';

const { prefix, cluster } = redisForTests('exactly-once');
const pool = createAppPool();
afterEach(() => pool.stopAll());
const teardown = createTeardown();

const APPEND_CONTENT_AT = `mutation ($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {
  appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) { id index status }
}`;
const APPEND_CONTENT = `mutation ($runId: ID!, $messageId: ID!, $text: String!) {
  appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text) { id index status }
}`;

/** A mutation over HTTP that carries an idempotency key in the header. */
function send(url: string, query: string, variables: Record<string, unknown>, key: string, headers: Record<string, string> = {}) {
  return request(url, query, variables, { 'idempotency-key': key, ...headers });
}

const code = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.code;

/**
 * Sends again, as a producer told "retry" would, until the server answers something other
 * than SERVICE_UNAVAILABLE (a Redis connection that was reset takes a moment to come back).
 */
async function retryUntilAnswered(attempt: () => Promise<GraphQLResponse>, timeoutMs = 10_000): Promise<GraphQLResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let response: GraphQLResponse | undefined;
    try {
      response = await attempt();
    } catch (error) {
      // A reset connection between the producer and the server: the outcome is unknown.
      if (Date.now() > deadline) throw error;
    }
    if (response && code(response) !== 'SERVICE_UNAVAILABLE') return response;
    if (Date.now() > deadline) throw new Error(`still unavailable after ${timeoutMs} ms: ${JSON.stringify(response)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The proxies between a server and its Redis: one for one Redis, one per master of a cluster. */
interface RedisFaults {
  config(overrides?: Partial<Config>): Config;
  /** Arms the proxy in front of the Redis that holds the project. */
  dropReplyTo(projectId: string, match: string): Promise<void>;
  dropAtRandom(projectId: string, rate: number, options: { match: string; next: () => number }): Promise<void>;
  dropped(): number;
  disarm(): void;
  close(): Promise<void>;
}

async function redisBehindProxies(backend: 'redis' | 'cluster'): Promise<RedisFaults> {
  const upstreams = backend === 'redis' ? [{ host: '127.0.0.1', port: 6379 }] : clusterNodes();
  const proxies: FaultProxy[] = await Promise.all(upstreams.map((node) => startFaultProxy(node)));
  async function proxyOf(projectId: string): Promise<FaultProxy> {
    if (backend === 'redis') return proxies[0]!;
    const owner = (await shardsOfProjects(cluster, [projectId])).get(projectId)!;
    return proxies[upstreams.findIndex((node) => `${node.host}:${node.port}` === owner)]!;
  }
  return {
    config: (overrides = {}) =>
      backend === 'redis'
        ? testConfig('redis', prefix, { redisUrl: proxies[0]!.url('redis'), ...overrides })
        : testConfig('cluster', prefix, {
            redisClusterNodes: proxies.map((proxy) => ({ host: '127.0.0.1', port: proxy.port })),
            // The cluster announces its nodes' own ports; every one is reached through its proxy.
            redisClusterNatMap: Object.fromEntries(
              upstreams.map((node, index) => [`${node.host}:${node.port}`, { host: '127.0.0.1', port: proxies[index]!.port }]),
            ),
            ...overrides,
          }),
    dropReplyTo: async (projectId, match) => (await proxyOf(projectId)).dropReplyTo(match),
    dropAtRandom: async (projectId, rate, options) => (await proxyOf(projectId)).dropAtRandom(rate, options),
    dropped: () => proxies.reduce((sum, proxy) => sum + proxy.dropped(), 0),
    disarm: () => proxies.forEach((proxy) => proxy.disarm()),
    close: async () => void (await Promise.all(proxies.map((proxy) => proxy.close()))),
  };
}

interface Scenario {
  /** The mutation field. */
  field: string;
  query: string;
  /** Makes what the mutation changes, and returns its variables. */
  prepare(url: string, projectId: string): Promise<Record<string, unknown>>;
  /** A string only this mutation's commit carries to Redis: the request whose reply is dropped. */
  marker: string;
  /** The events the mutation emits, once each. */
  emits: string[];
  /** How many times the state holds the change: must be 1. */
  heldInState(url: string, projectId: string, variables: Record<string, unknown>): Promise<number>;
}

const unique = () => randomUUID().slice(0, 8);

async function newJob(url: string, projectId: string, totalItems?: number) {
  return (await mutate(url, CREATE_JOB, { projectId, source: `s3://${unique()}`, totalItems })).createIngestJob;
}
async function newRun(url: string, projectId: string) {
  return (await mutate(url, START_RUN, { projectId, agent: `agent-${unique()}` })).startAgentRun;
}
async function runOf(url: string, id: string) {
  return (await mutate(url, RUN, { id })).agentRun;
}
async function newWorkflow(url: string, projectId: string) {
  return (await mutate(url, START_WORKFLOW, { projectId, workflowId: `wf-${unique()}`, nodeIds: ['a', 'b'] })).startWorkflowRun;
}
async function streamingMessage(url: string, projectId: string) {
  const run = await newRun(url, projectId);
  const message = (await mutate(url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
  return { run, message };
}
const jobsWith = async (url: string, projectId: string, source: string) =>
  (await mutate(url, JOBS, { projectId })).ingestJobs.filter((job: { source: string }) => job.source === source).length;

const progressMessage = () => `progress-${unique()}`;

const SCENARIOS: Scenario[] = [
  {
    field: 'createIngestJob',
    query: CREATE_JOB,
    marker: 'source-once-',
    prepare: async (_url, projectId) => ({ projectId, source: `source-once-${unique()}` }),
    emits: ['INGEST_JOB_CREATED'],
    heldInState: (url, projectId, variables) => jobsWith(url, projectId, variables.source as string),
  },
  {
    field: 'updateIngestJobProgress',
    query: UPDATE_PROGRESS,
    marker: 'progress-',
    prepare: async (url, projectId) => ({ id: (await newJob(url, projectId)).id, progress: 0.5, message: progressMessage() }),
    emits: ['INGEST_JOB_UPDATED'],
    heldInState: async () => 1,
  },
  {
    field: 'completeIngestJob',
    query: COMPLETE_JOB,
    marker: '"type":"INGEST_JOB_COMPLETED"',
    prepare: async (url, projectId) => ({ id: (await newJob(url, projectId)).id }),
    emits: ['INGEST_JOB_COMPLETED'],
    heldInState: async () => 1,
  },
  {
    field: 'failIngestJob',
    query: FAIL_JOB,
    marker: 'broken-',
    prepare: async (url, projectId) => ({ id: (await newJob(url, projectId)).id, error: `broken-${unique()}` }),
    emits: ['INGEST_JOB_FAILED'],
    heldInState: async () => 1,
  },
  {
    field: 'startAgentRun',
    query: START_RUN,
    marker: 'agent-once-',
    prepare: async (_url, projectId) => ({ projectId, agent: `agent-once-${unique()}` }),
    emits: ['AGENT_RUN_CREATED'],
    heldInState: async (url, projectId, variables) =>
      (await mutate(url, RUNS, { projectId })).agentRuns.filter((run: { agent: string }) => run.agent === variables.agent).length,
  },
  {
    field: 'updateAgentStep',
    query: UPDATE_STEP,
    marker: 'step-name-',
    prepare: async (url, projectId) => ({ runId: (await newRun(url, projectId)).id, stepId: 'plan', name: `step-name-${unique()}`, status: 'RUNNING' }),
    emits: ['AGENT_RUN_UPDATED', 'AGENT_STEP_UPDATED'],
    heldInState: async (url, _projectId, variables) => (await runOf(url, variables.runId as string)).stepCount,
  },
  {
    field: 'appendAgentMessage',
    query: APPEND_MESSAGE,
    marker: 'message-once-',
    prepare: async (url, projectId) => ({ runId: (await newRun(url, projectId)).id, role: 'ASSISTANT', content: `message-once-${unique()}` }),
    emits: ['AGENT_MESSAGE_APPENDED'],
    heldInState: async (url, _projectId, variables) => (await runOf(url, variables.runId as string)).messageCount,
  },
  {
    field: 'startAgentMessage',
    query: START_MESSAGE,
    marker: '"status":"STREAMING"',
    prepare: async (url, projectId) => ({ runId: (await newRun(url, projectId)).id, role: 'ASSISTANT' }),
    emits: ['AGENT_MESSAGE_APPENDED'],
    heldInState: async (url, _projectId, variables) => (await runOf(url, variables.runId as string)).messageCount,
  },
  {
    field: 'appendAgentMessageContent',
    query: APPEND_CONTENT,
    marker: 'piece-once-',
    prepare: async (url, projectId) => {
      const { run, message } = await streamingMessage(url, projectId);
      return { runId: run.id, messageId: message.id, text: `piece-once-${unique()}` };
    },
    emits: [],
    heldInState: async (url, _projectId, variables) => {
      const run = await runOf(url, variables.runId as string);
      return run.messages[0].content.split(variables.text as string).length - 1;
    },
  },
  {
    field: 'finishAgentMessage',
    query: FINISH_MESSAGE,
    marker: '"type":"AGENT_MESSAGE_COMPLETED"',
    prepare: async (url, projectId) => {
      const { run, message } = await streamingMessage(url, projectId);
      return { runId: run.id, messageId: message.id };
    },
    emits: ['AGENT_MESSAGE_COMPLETED'],
    heldInState: async () => 1,
  },
  {
    field: 'completeAgentRun',
    query: COMPLETE_RUN,
    marker: 'output-once-',
    prepare: async (url, projectId) => {
      // A run with a message still streaming: completing it emits three events. The first
      // piece goes out at once; the second waits for the window (a second here) to end.
      const { run, message } = await streamingMessage(url, projectId);
      await mutate(url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: 'sent text ' });
      await mutate(url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: 'unsent text' });
      return { runId: run.id, output: `output-once-${unique()}` };
    },
    emits: ['AGENT_MESSAGE_DELTA', 'AGENT_MESSAGE_COMPLETED', 'AGENT_RUN_COMPLETED'],
    heldInState: async () => 1,
  },
  {
    field: 'failAgentRun',
    query: FAIL_RUN,
    marker: 'run-error-',
    prepare: async (url, projectId) => ({ runId: (await newRun(url, projectId)).id, error: `run-error-${unique()}` }),
    emits: ['AGENT_RUN_FAILED'],
    heldInState: async () => 1,
  },
  {
    field: 'startWorkflowRun',
    query: START_WORKFLOW,
    marker: 'wf-once-',
    prepare: async (_url, projectId) => ({ projectId, workflowId: `wf-once-${unique()}`, nodeIds: ['a', 'b'] }),
    emits: ['WORKFLOW_RUN_UPDATED'],
    heldInState: async (url, projectId, variables) =>
      (await mutate(url, WORKFLOWS, { projectId })).workflowRuns.filter((run: { workflowId: string }) => run.workflowId === variables.workflowId).length,
  },
  {
    field: 'updateWorkflowNodeState',
    query: UPDATE_NODE,
    marker: 'node-output-',
    prepare: async (url, projectId) => ({ runId: (await newWorkflow(url, projectId)).id, nodeId: 'a', status: 'SUCCEEDED', output: `node-output-${unique()}` }),
    emits: ['WORKFLOW_NODE_STATE_UPDATED'],
    heldInState: async () => 1,
  },
  {
    field: 'finishWorkflowRun',
    query: FINISH_WORKFLOW,
    marker: '"status":"CANCELLED"',
    prepare: async (url, projectId) => ({ runId: (await newWorkflow(url, projectId)).id, status: 'CANCELLED' }),
    emits: ['WORKFLOW_RUN_UPDATED'],
    heldInState: async () => 1,
  },
];

describe.each(['redis', 'cluster'] as const)('a mutation whose reply from Redis is lost, retried with its key (%s)', (backend) => {
  let faults: RedisFaults;
  beforeAll(async () => {
    faults = await redisBehindProxies(backend);
  });
  afterAll(() => faults.close());
  afterEach(() => faults.disarm());

  it.each(SCENARIOS.map((scenario) => [scenario.field, scenario] as const))(
    '%s changes state and emits its events once, and the retry answers what the first would have',
    async (_field, scenario) => {
      const app = await pool.start(faults.config({ agentDeltaWindowMs: 1000 }));
      const projectId = `once-${unique()}`;
      const variables = await scenario.prepare(app.url, projectId);
      const watch = await watchProject(app, projectId, teardown.push);
      const key = randomUUID();

      await faults.dropReplyTo(projectId, scenario.marker);
      const dropped = faults.dropped();
      const first = await send(app.url, scenario.query, variables, key);
      // The commit ran in Redis; only its reply was lost, so nobody can say it did not happen.
      expect(faults.dropped()).toBe(dropped + 1);
      if (backend === 'redis' || first.errors) {
        expect(code(first)).toBe('SERVICE_UNAVAILABLE');
        expect(first.errors![0]!.extensions!.outcome).toBe('UNKNOWN');
        expect(first.errors![0]!.message).toMatch(/may or may not have been applied.*same Idempotency-Key/);
      }
      // A cluster client sends the script again itself once it has reconnected; the script
      // knows its own attempt and answers with what it committed the first time.

      const retried = await retryUntilAnswered(() => send(app.url, scenario.query, variables, key));
      expect(retried.errors).toBeUndefined();
      expect((retried as { extensions?: Record<string, unknown> }).extensions).toEqual({ idempotentReplay: true });
      if (!first.errors) expect(retried.data).toEqual(first.data);
      // Asked once more, it is the same answer again.
      const again = await send(app.url, scenario.query, variables, key);
      expect(again.data).toEqual(retried.data);

      const events = await watch.settled();
      expect(events.map((event) => event.type).filter((type) => scenario.emits.includes(type)).sort()).toEqual([...scenario.emits].sort());
      expect(await scenario.heldInState(app.url, projectId, variables)).toBe(1);

      // What the retry answered is the entity as the lost first answer had it: as its event carried it.
      const answer = retried.data![scenario.field];
      const changed = events.find((event) => scenario.emits.at(-1) === event.type);
      if (changed?.job) expect({ id: answer.id, status: answer.status }).toEqual({ id: changed.job.id, status: changed.job.status });
      if (changed?.agentRun && answer.agent) expect({ id: answer.id, status: answer.status }).toEqual(changed.agentRun);
      if (changed?.message) expect(answer.id).toBe(changed.message.id);
      if (changed?.workflowRun) expect({ id: answer.id, status: answer.status }).toEqual(changed.workflowRun);
    },
  );
});

describe('keys on the in-process backend and on Redis', () => {
  it.each(['memory', 'redis'] as const)('a repeat changes nothing and is marked, over HTTP and graphql-ws alike (%s)', async (backend) => {
    const app = await pool.start(testConfig(backend, prefix));
    const projectId = `repeat-${unique()}`;
    const watch = await watchProject(app, projectId, teardown.push);
    const variables = { projectId, source: `repeat-${unique()}` };
    const key = randomUUID();
    const first = await send(app.url, CREATE_JOB, variables, key);
    expect(first.errors).toBeUndefined();
    expect((first as { extensions?: unknown }).extensions).toBeUndefined();

    const overSocket = connectWebSocket(app.url);
    teardown.push(() => overSocket.dispose());
    const socketAnswer = await new Promise<Record<string, any>>((resolve, reject) => {
      let result: Record<string, any> | undefined;
      overSocket.subscribe(
        { query: CREATE_JOB, variables, extensions: { idempotencyKey: key } },
        { next: (value) => (result = value), error: reject, complete: () => resolve(result!) },
      );
    });
    expect(socketAnswer.data).toEqual(first.data);
    expect(socketAnswer.extensions).toEqual({ idempotentReplay: true });

    const both = await request(app.url, CREATE_JOB, variables, { 'idempotency-key': key });
    expect(both.data).toEqual(first.data);

    const events = await watch.settled();
    expect(events.filter((event) => event.type === 'INGEST_JOB_CREATED')).toHaveLength(1);
    expect(await jobsWith(app.url, projectId, variables.source)).toBe(1);
  });

  it.each(['memory', 'redis'] as const)('refuses a key reused with other input, and malformed keys, changing nothing (%s)', async (backend) => {
    const app = await pool.start(testConfig(backend, prefix));
    const projectId = `reuse-${unique()}`;
    const key = randomUUID();
    await send(app.url, CREATE_JOB, { projectId, source: 'first' }, key);
    const reused = await send(app.url, CREATE_JOB, { projectId, source: 'second' }, key);
    expect(code(reused)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(reused.data).toBeNull();
    const otherDocument = await send(app.url, `mutation ($projectId: ID!, $source: String!) { createIngestJob(projectId: $projectId, source: $source) { id } }`, { projectId, source: 'first' }, key);
    expect(code(otherDocument)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await mutate(app.url, JOBS, { projectId })).ingestJobs.map((job: { source: string }) => job.source)).toEqual(['first']);

    const withKey = (headers: Record<string, string>, extensions?: Record<string, unknown>) =>
      fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: CREATE_JOB, variables: { projectId, source: 'bad' }, extensions }),
      }).then((reply) => reply.json() as Promise<GraphQLResponse>);
    for (const bad of ['', 'x'.repeat(256), 'naïve', 42, { key: 'k' }]) {
      expect(code(await withKey({}, { idempotencyKey: bad }))).toBe('BAD_USER_INPUT');
    }
    expect(code(await withKey({ 'idempotency-key': 'x'.repeat(256) }))).toBe('BAD_USER_INPUT');
    expect(code(await withKey({ 'idempotency-key': 'one' }, { idempotencyKey: 'two' }))).toBe('BAD_USER_INPUT');
    expect((await mutate(app.url, JOBS, { projectId })).ingestJobs.map((job: { source: string }) => job.source)).toEqual(['first']);
  });

  it('makes each mutation field of one document happen once', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = `fields-${unique()}`;
    const document = `mutation ($projectId: ID!) {
      a: createIngestJob(projectId: $projectId, source: "a") { id source }
      b: createIngestJob(projectId: $projectId, source: "b") { id source }
    }`;
    const key = randomUUID();
    const first = await send(app.url, document, { projectId }, key);
    const repeat = await send(app.url, document, { projectId }, key);
    expect(repeat.data).toEqual(first.data);
    expect(first.data!.a.id).not.toBe(first.data!.b.id);
    expect((await mutate(app.url, JOBS, { projectId })).ingestJobs.map((job: { source: string }) => job.source)).toEqual(['a', 'b']);
  });

  it('answers a key whose first request finished a job again, where the job itself now refuses', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = `finished-${unique()}`;
    const job = await newJob(app.url, projectId);
    const key = randomUUID();
    const first = await send(app.url, COMPLETE_JOB, { id: job.id }, key);
    const repeat = await send(app.url, COMPLETE_JOB, { id: job.id }, key);
    expect(repeat.data).toEqual(first.data);
    expect((repeat as { extensions?: unknown }).extensions).toEqual({ idempotentReplay: true });
    const unkeyed = await request(app.url, COMPLETE_JOB, { id: job.id });
    expect(code(unkeyed)).toBe('INVALID_TRANSITION');
  });

  it.each(['memory', 'redis'] as const)('treats a key after its window as a new request (%s)', async (backend) => {
    let time = Date.now();
    const app = await pool.start(testConfig(backend, prefix, { producing: { idempotencyWindowMs: 60_000, abandonedAfterMs: 0 }, now: () => time }));
    const projectId = `window-${unique()}`;
    const key = randomUUID();
    const variables = { projectId, source: 'windowed' };
    const first = await send(app.url, CREATE_JOB, variables, key);
    time += 59_999;
    const within = await send(app.url, CREATE_JOB, variables, key);
    expect(within.data).toEqual(first.data);
    time += 2;
    const later = await send(app.url, CREATE_JOB, variables, key);
    expect(later.data!.createIngestJob.id).not.toBe(first.data!.createIngestJob.id);
    expect(await jobsWith(app.url, projectId, 'windowed')).toBe(2);
  });

  it('drops expired records: a writing project\'s by its own commits, an idle project\'s by the sweep', async () => {
    let time = Date.now();
    const windowMs = 60_000;
    const app = await pool.start(testConfig('redis', prefix, { producing: { idempotencyWindowMs: windowMs, abandonedAfterMs: 0 }, now: () => time }));
    const redis = createRedis();
    teardown.push(() => redis.quit());
    const keys = createRedisKeys(prefix);
    const recordsOf = async (projectId: string) => (await redis.hkeys(keys.head(projectId))).filter((field) => /^\d+:/.test(field));
    const writing = `records-writing-${unique()}`;
    const idle = `records-idle-${unique()}`;
    const job = await newJob(app.url, writing);
    for (let index = 0; index < 5; index++) await send(app.url, UPDATE_PROGRESS, { id: job.id, progress: index / 10 }, randomUUID());
    await send(app.url, CREATE_JOB, { projectId: idle, source: 'idle' }, randomUUID());
    expect(await recordsOf(writing)).toHaveLength(5);
    expect(await recordsOf(idle)).toHaveLength(1);
    // Within two windows nothing goes: a record of the last generation may still be in its window.
    time += windowMs;
    expect(await app.sweepIdempotencyRecords()).toBe(0);
    expect(await recordsOf(idle)).toHaveLength(1);
    time += 2 * windowMs;
    // The writing project's next commit drops its expired records and keeps its new one.
    const kept = randomUUID();
    await send(app.url, UPDATE_PROGRESS, { id: job.id, progress: 0.9 }, kept);
    expect(await recordsOf(writing)).toEqual([expect.stringContaining(kept)]);
    // The idle project is found by the sweep, and forgotten once it holds nothing.
    expect(await app.sweepIdempotencyRecords()).toBeGreaterThanOrEqual(1);
    expect(await recordsOf(idle)).toEqual([]);
    expect(await redis.zscore(keys.projectsWithRecords(), idle)).toBeNull();
    // Its head still holds its position: a new event follows the old ones.
    const watch = await mutate(app.url, `query ($projectId: ID!) { projectSnapshot(projectId: $projectId) { cursor } }`, { projectId: idle });
    expect(watch.projectSnapshot.cursor).toEqual(expect.any(String));
    expect(Number(await redis.hget(keys.head(idle), 'seq'))).toBe(1);
  });
});

describe('streamed text by offset', () => {
  it.each(['redis', 'cluster'] as const)(
    'ends exact when a randomised producer retries its pieces at their offsets through dropped replies (%s)',
    async (backend) => {
      const faults = await redisBehindProxies(backend);
      teardown.push(() => faults.close());
      const app = await pool.start(faults.config({ agentDeltaWindowMs: 5 }));
      const projectId = `offsets-${unique()}`;
      const { run, message } = await streamingMessage(app.url, projectId);
      const random = createRandom(backend === 'redis' ? 1919 : 2020);
      const alphabet = ['a', 'b', 'é', '€', '😀', ' ', 'x\n'];
      const pieces = Array.from({ length: 300 }, () => Array.from({ length: 1 + random.below(6) }, () => random.pick(alphabet)).join(''));
      // Only the requests that store this message's text lose their replies, one in ten.
      await faults.dropAtRandom(projectId, 0.1, { match: message.id, next: random.next });
      let offset = 0;
      for (const text of pieces) {
        const answer = await retryUntilAnswered(() => send(app.url, APPEND_CONTENT_AT, { runId: run.id, messageId: message.id, text, offset }, randomUUID()));
        expect(answer.errors).toBeUndefined();
        offset += text.length;
      }
      faults.disarm();
      expect(faults.dropped()).toBeGreaterThan(10);
      // A flush of the text in the background may have lost its reply last, and its connection
      // with it: the finish retries, as a producer would, while the client reconnects.
      const finished = await retryUntilAnswered(() => request(app.url, FINISH_MESSAGE, { runId: run.id, messageId: message.id }));
      expect(finished.errors).toBeUndefined();
      expect(finished.data!.finishAgentMessage.content).toBe(pieces.join(''));
    },
  );

  it.each(['memory', 'redis', 'cluster'] as const)('refuses a piece at any other offset with OFFSET_MISMATCH and the real length (%s)', async (backend) => {
    const app = await pool.start(testConfig(backend, prefix));
    const { run, message } = await streamingMessage(app.url, `mismatch-${unique()}`);
    const at = (text: string, offset: number) => request(app.url, APPEND_CONTENT_AT, { runId: run.id, messageId: message.id, text, offset });
    expect((await at('hello ', 0)).errors).toBeUndefined();
    expect((await at('wörld', 6)).errors).toBeUndefined();
    // A retry of a piece already stored is answered as the first time, and changes nothing.
    expect((await at('hello ', 0)).errors).toBeUndefined();
    expect((await at('wörld', 6)).errors).toBeUndefined();
    for (const [text, offset] of [['!', 5], ['!', 12], ['x', 6], ['wörld!', 6], ['hello', 1]] as const) {
      const refused = await at(text, offset);
      expect(code(refused)).toBe('OFFSET_MISMATCH');
      expect(refused.errors![0]!.extensions!.expectedOffset).toBe(11);
    }
    expect((await at('!', 11)).errors).toBeUndefined();
    const finished = await mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: message.id });
    expect(finished.finishAgentMessage.content).toBe('hello wörld!');
  });
});

describe('between the producer and the server', () => {
  it('a lost HTTP response, retried with the key, stores one job', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const proxy = await startFaultProxy({ port: Number(new URL(app.url).port) });
    teardown.push(() => proxy.close());
    const throughProxy = proxy.url('http', '/graphql');
    const projectId = `http-${unique()}`;
    const watch = await watchProject(app, projectId, teardown.push);
    const variables = { projectId, source: `lost-response-${unique()}` };
    const key = randomUUID();
    proxy.dropReplyTo('lost-response-');
    // The server created the job; its answer never reached the producer.
    await expect(send(throughProxy, CREATE_JOB, variables, key)).rejects.toThrow();
    expect(proxy.dropped()).toBe(1);
    const retried = await retryUntilAnswered(() => send(throughProxy, CREATE_JOB, variables, key));
    expect((retried as { extensions?: unknown }).extensions).toEqual({ idempotentReplay: true });
    const events = await watch.settled();
    expect(events.filter((event) => event.type === 'INGEST_JOB_CREATED').map((event) => event.job!.id)).toEqual([retried.data!.createIngestJob.id]);
    expect(await jobsWith(app.url, projectId, variables.source)).toBe(1);
  });

  it.each(['redis', 'cluster'] as const)('8 concurrent sends of one request on two instances take effect once, and all answer alike (%s)', async (backend) => {
    const [one, two] = await Promise.all([pool.start(testConfig(backend, prefix)), pool.start(testConfig(backend, prefix))]);
    const projectId = `storm-${unique()}`;
    const watch = await watchProject(one!, projectId, teardown.push);
    const run = await newRun(one!.url, projectId);
    const variables = { runId: run.id, role: 'ASSISTANT', content: `storm-${unique()}` };
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, index) => retryUntilAnswered(() => send((index % 2 ? two : one)!.url, APPEND_MESSAGE, variables, key))),
    );
    for (const answer of answers) expect(answer.data).toEqual(answers[0]!.data);
    expect(answers.filter((answer) => (answer as { extensions?: unknown }).extensions === undefined)).toHaveLength(1);
    const events = await watch.settled();
    expect(events.filter((event) => event.type === 'AGENT_MESSAGE_APPENDED')).toHaveLength(1);
    expect((await runOf(one!.url, run.id)).messageCount).toBe(1);
  });

  it.each(['redis', 'cluster'] as const)('keyed changes that lose version races to another instance each still take effect once (%s)', async (backend) => {
    const [one, two] = await Promise.all([pool.start(testConfig(backend, prefix)), pool.start(testConfig(backend, prefix))]);
    const projectId = `races-${unique()}`;
    const watch = await watchProject(one!, projectId, teardown.push);
    const job = await newJob(one!.url, projectId, 100);
    // A commit that loses the race gives its key back; were it kept, the retry would find it
    // and answer a change that never happened.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        retryUntilAnswered(() => send((index % 2 ? two : one)!.url, UPDATE_PROGRESS, { id: job.id, progress: 0.5, processedItems: index + 1 }, `race-${index}`)),
      ),
    );
    for (const answer of answers) expect((answer as { extensions?: unknown }).extensions).toBeUndefined();
    const events = await watch.settled();
    expect(events.filter((event) => event.type === 'INGEST_JOB_UPDATED')).toHaveLength(20);
  });

  it("keeps one subject's key apart from another's: each gets its own change and never the other's answer", async () => {
    const app = await pool.start(testConfig('redis', prefix, { auth: { kind: 'secret', secret: TEST_SECRET } }));
    const projectId = `subjects-${unique()}`;
    const [alice, bob] = await Promise.all(['alice', 'bob'].map(async (sub) => bearer(await signToken({ sub, projects: [projectId] }))));
    const key = 'shared-key';
    const variables = { projectId, source: 'same input' };
    const forAlice = await send(app.url, CREATE_JOB, variables, key, { authorization: alice! });
    const forBob = await send(app.url, CREATE_JOB, variables, key, { authorization: bob! });
    expect(forAlice.data!.createIngestJob.id).not.toBe(forBob.data!.createIngestJob.id);
    expect((forBob as { extensions?: unknown }).extensions).toBeUndefined();
    const again = await send(app.url, CREATE_JOB, variables, key, { authorization: bob! });
    expect(again.data).toEqual(forBob.data);
    const jobs = await mutate(app.url, JOBS, { projectId }, { authorization: alice! });
    expect(jobs.ingestJobs).toHaveLength(2);
  });
});

describe('a stalled Redis', () => {
  it('fails a mutation at its deadline instead of hanging, says not ready, and a retry with the key applies it once', async () => {
    const redis = await startPrivateRedis();
    teardown.push(() => redis.dispose());
    const app = await pool.start(testConfig('redis', prefix, { redisUrl: redis.url, redisCommandTimeoutMs: 300 }));
    const health = (path: string) => fetch(new URL(path, app.url)).then((response) => response.status);
    const projectId = `stall-${unique()}`;
    const { run, message } = await streamingMessage(app.url, projectId);
    // Keyed, so the project is already among those with records and the stalled call's first
    // command is the one that stores the text.
    expect((await send(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: 'once: ' }, randomUUID())).errors).toBeUndefined();
    await waitFor(async () => (await health('/ready')) === 200, { what: 'ready' });

    redis.pause();
    const variables = { runId: run.id, messageId: message.id, text: 'said once' };
    const key = randomUUID();
    const stalled = await send(app.url, APPEND_CONTENT, variables, key);
    expect(code(stalled)).toBe('SERVICE_UNAVAILABLE');
    expect(stalled.errors![0]!.extensions!.outcome).toBe('UNKNOWN');
    await waitFor(async () => (await health('/ready')) === 503, { what: '/ready to answer 503' });
    expect(await health('/health')).toBe(200);

    redis.resume();
    await waitFor(async () => (await health('/ready')) === 200, { what: 'ready again' });
    // The stalled request reached Redis and runs when it resumes; the retry finds its record.
    const retried = await retryUntilAnswered(() => send(app.url, APPEND_CONTENT, variables, key));
    expect(retried.errors).toBeUndefined();
    const finished = await mutate(app.url, FINISH_MESSAGE, { runId: run.id, messageId: message.id });
    expect(finished.finishAgentMessage.content).toBe('once: said once');
  });
});

describe('a slow network to Redis', () => {
  it('answers a commit whose reply comes after the deadline as unknown, and its retry with the key applies it once', async () => {
    const proxy = await startFaultProxy({ port: 6379 });
    teardown.push(() => proxy.close());
    const app = await pool.start(testConfig('redis', prefix, { redisUrl: proxy.url('redis'), redisCommandTimeoutMs: 200 }));
    const projectId = `late-${unique()}`;
    const watch = await watchProject(app, projectId, teardown.push);
    const variables = { projectId, source: `late-reply-${unique()}` };
    const key = randomUUID();
    // Redis commits at once; the answer crosses the network after the server stopped waiting.
    proxy.delayReplyTo('late-reply-', 600);
    const late = await send(app.url, CREATE_JOB, variables, key);
    expect(code(late)).toBe('SERVICE_UNAVAILABLE');
    expect(late.errors![0]!.extensions!.outcome).toBe('UNKNOWN');
    const retried = await retryUntilAnswered(() => send(app.url, CREATE_JOB, variables, key));
    expect((retried as { extensions?: unknown }).extensions).toEqual({ idempotentReplay: true });
    const events = await watch.settled();
    expect(events.filter((event) => event.type === 'INGEST_JOB_CREATED').map((event) => event.job!.id)).toEqual([retried.data!.createIngestJob.id]);
    expect(await jobsWith(app.url, projectId, variables.source)).toBe(1);
  });
});
