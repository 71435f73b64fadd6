import type { Client } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { connectWebSocket, mutate, request, subscribeOverWebSocket } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import {
  APPEND_MESSAGE,
  COMPLETE_JOB,
  COMPLETE_RUN,
  CREATE_JOB,
  FAIL_JOB,
  FAIL_RUN,
  FINISH_WORKFLOW,
  JOB,
  JOBS,
  PROJECT_STREAM,
  RUN,
  RUNS,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  UPDATE_STEP,
  WORKFLOW,
  WORKFLOWS,
} from './support/operations.js';
import { redisForTests } from './support/redis.js';
import { BACKENDS, createAppPool, testConfig } from './support/servers.js';
import { waitFor } from './support/wait-for.js';

const { prefix } = redisForTests('rules');
const pool = createAppPool();
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  await pool.stopAll();
});

async function expectError(app: App, query: string, variables: Record<string, unknown>, code: string, field?: string) {
  const result = await request(app.url, query, variables);
  expect(result.data ?? null).toBeNull();
  expect(result.errors).toHaveLength(1);
  expect(result.errors![0]!.extensions).toEqual(field ? { code, field } : { code });
  return result.errors![0]!.message;
}

describe.each(BACKENDS)('domain rules, %s backend', (backend) => {
  const start = () => pool.start(testConfig(backend, prefix));

  it('stores what mutations accept and answers queries from it, oldest first', async () => {
    const app = await start();
    const projectId = `store-${backend}`;
    const first = (await mutate(app.url, CREATE_JOB, { projectId, source: ' s3://a ', totalItems: 4 })).createIngestJob;
    const second = (await mutate(app.url, CREATE_JOB, { projectId, source: 's3://b' })).createIngestJob;
    await mutate(app.url, UPDATE_PROGRESS, { id: first.id, progress: 0.25, processedItems: 1, message: 'one' });
    expect(first).toMatchObject({ projectId, source: 's3://a', status: 'PENDING', progress: 0, totalItems: 4 });

    const job = (await request(app.url, JOB, { id: first.id })).data!.ingestJob;
    expect(job).toMatchObject({ status: 'RUNNING', progress: 0.25, processedItems: 1, message: 'one' });
    expect(Date.parse(job.updatedAt)).toBeGreaterThanOrEqual(Date.parse(job.createdAt));
    const jobs = (await request(app.url, JOBS, { projectId })).data!.ingestJobs;
    expect(jobs.map((listed: { id: string }) => listed.id)).toEqual([first.id, second.id]);
    expect((await request(app.url, JOBS, { projectId: `${projectId}-other` })).data!.ingestJobs).toEqual([]);
    expect((await request(app.url, JOB, { id: 'no-such-job' })).data!.ingestJob).toBeNull();

    const run = (await mutate(app.url, START_RUN, { projectId, agent: 'planner' })).startAgentRun;
    await mutate(app.url, UPDATE_STEP, { runId: run.id, stepId: 'a', name: 'A', status: 'RUNNING' });
    await mutate(app.url, UPDATE_STEP, { runId: run.id, stepId: 'b', name: 'B', status: 'PENDING' });
    await mutate(app.url, UPDATE_STEP, { runId: run.id, stepId: 'a', name: 'A', status: 'COMPLETED' });
    const message = (await mutate(app.url, APPEND_MESSAGE, { runId: run.id, role: 'TOOL', content: 'result' }))
      .appendAgentMessage;
    const stored = (await request(app.url, RUN, { id: run.id })).data!.agentRun;
    expect(stored.status).toBe('RUNNING');
    expect(stored.steps.map((step: { id: string; status: string }) => [step.id, step.status])).toEqual([
      ['a', 'COMPLETED'],
      ['b', 'PENDING'],
    ]);
    expect(stored.steps[0].startedAt).not.toBeNull();
    expect(stored.steps[0].finishedAt).not.toBeNull();
    expect(stored.steps[1].startedAt).toBeNull();
    expect(stored.messages).toEqual([message]);
    expect((await request(app.url, RUNS, { projectId })).data!.agentRuns).toHaveLength(1);

    const flow = (await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'etl', nodeIds: ['x', 'y'] }))
      .startWorkflowRun;
    expect(flow.status).toBe('RUNNING');
    await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'y', status: 'FAILED', error: 'boom' });
    await mutate(app.url, FINISH_WORKFLOW, { runId: flow.id, status: 'FAILED' });
    const storedFlow = (await request(app.url, WORKFLOW, { id: flow.id })).data!.workflowRun;
    expect(storedFlow.status).toBe('FAILED');
    expect(storedFlow.nodes.map((node: { nodeId: string; status: string }) => [node.nodeId, node.status])).toEqual([
      ['x', 'PENDING'],
      ['y', 'FAILED'],
    ]);
    expect((await request(app.url, WORKFLOWS, { projectId })).data!.workflowRuns).toHaveLength(1);
  });

  it('answers unknown ids with NOT_FOUND', async () => {
    const app = await start();
    const id = 'missing';
    await expectError(app, UPDATE_PROGRESS, { id, progress: 0.5 }, 'NOT_FOUND');
    await expectError(app, COMPLETE_JOB, { id }, 'NOT_FOUND');
    await expectError(app, FAIL_JOB, { id, error: 'x' }, 'NOT_FOUND');
    await expectError(app, UPDATE_STEP, { runId: id, stepId: 's', name: 'S', status: 'RUNNING' }, 'NOT_FOUND');
    await expectError(app, APPEND_MESSAGE, { runId: id, role: 'USER', content: 'hi' }, 'NOT_FOUND');
    await expectError(app, COMPLETE_RUN, { runId: id }, 'NOT_FOUND');
    await expectError(app, FAIL_RUN, { runId: id, error: 'x' }, 'NOT_FOUND');
    await expectError(app, UPDATE_NODE, { runId: id, nodeId: 'n', status: 'RUNNING' }, 'NOT_FOUND');
    const message = await expectError(app, FINISH_WORKFLOW, { runId: id, status: 'SUCCEEDED' }, 'NOT_FOUND');
    expect(message).toBe('Workflow run "missing" does not exist');
  });

  it('refuses bad input with BAD_USER_INPUT naming the argument', async () => {
    const app = await start();
    const projectId = `input-${backend}`;
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 's', totalItems: 10 })).createIngestJob;
    const run = (await mutate(app.url, START_RUN, { projectId, agent: 'a' })).startAgentRun;
    const flow = (await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['n'] })).startWorkflowRun;

    expect(await expectError(app, UPDATE_PROGRESS, { id: job.id, progress: 1.5 }, 'BAD_USER_INPUT', 'progress')).toBe(
      'progress: must be between 0 and 1, got 1.5',
    );
    await expectError(app, UPDATE_PROGRESS, { id: job.id, progress: -0.1 }, 'BAD_USER_INPUT', 'progress');
    await expectError(app, UPDATE_PROGRESS, { id: job.id, progress: 0.5, processedItems: -1 }, 'BAD_USER_INPUT', 'processedItems');
    await expectError(app, UPDATE_PROGRESS, { id: job.id, progress: 0.5, processedItems: 11 }, 'BAD_USER_INPUT', 'processedItems');
    await expectError(app, CREATE_JOB, { projectId, source: '   ' }, 'BAD_USER_INPUT', 'source');
    await expectError(app, CREATE_JOB, { projectId, source: 's', totalItems: -3 }, 'BAD_USER_INPUT', 'totalItems');
    await expectError(app, CREATE_JOB, { projectId: '', source: 's' }, 'BAD_USER_INPUT', 'projectId');
    await expectError(app, CREATE_JOB, { projectId: 'has space', source: 's' }, 'BAD_USER_INPUT', 'projectId');
    await expectError(app, FAIL_JOB, { id: job.id, error: '' }, 'BAD_USER_INPUT', 'error');
    await expectError(app, START_RUN, { projectId, agent: '' }, 'BAD_USER_INPUT', 'agent');
    await expectError(app, UPDATE_STEP, { runId: run.id, stepId: '', name: 'S', status: 'RUNNING' }, 'BAD_USER_INPUT', 'stepId');
    await expectError(app, UPDATE_STEP, { runId: run.id, stepId: 's', name: ' ', status: 'RUNNING' }, 'BAD_USER_INPUT', 'name');
    await expectError(app, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: '' }, 'BAD_USER_INPUT', 'content');
    await expectError(app, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: [] }, 'BAD_USER_INPUT', 'nodeIds');
    await expectError(app, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['a', 'a'] }, 'BAD_USER_INPUT', 'nodeIds');
    expect(
      await expectError(app, UPDATE_NODE, { runId: flow.id, nodeId: 'ghost', status: 'RUNNING' }, 'BAD_USER_INPUT', 'nodeId'),
    ).toBe(`nodeId: workflow run "${flow.id}" has no node "ghost"`);
    await expectError(app, FINISH_WORKFLOW, { runId: flow.id, status: 'RUNNING' }, 'BAD_USER_INPUT', 'status');
    // Values the schema itself refuses never reach a service.
    const badEnum = await request(app.url, UPDATE_STEP, { runId: run.id, stepId: 's', name: 'S', status: 'DANCING' });
    expect(badEnum.errors![0]!.message).toContain('DANCING');
  });

  it('refuses changes out of a final state with INVALID_TRANSITION', async () => {
    const app = await start();
    const projectId = `transition-${backend}`;
    const done = (await mutate(app.url, CREATE_JOB, { projectId, source: 's' })).createIngestJob;
    await mutate(app.url, COMPLETE_JOB, { id: done.id });
    const failed = (await mutate(app.url, CREATE_JOB, { projectId, source: 's' })).createIngestJob;
    await mutate(app.url, FAIL_JOB, { id: failed.id, error: 'x' });
    const message = await expectError(app, UPDATE_PROGRESS, { id: done.id, progress: 0.5 }, 'INVALID_TRANSITION');
    expect(message).toBe(`cannot update progress of ingest job "${done.id}": it is already COMPLETED`);
    await expectError(app, UPDATE_PROGRESS, { id: failed.id, progress: 0.5 }, 'INVALID_TRANSITION');
    await expectError(app, COMPLETE_JOB, { id: failed.id }, 'INVALID_TRANSITION');
    await expectError(app, FAIL_JOB, { id: done.id, error: 'late' }, 'INVALID_TRANSITION');

    const run = (await mutate(app.url, START_RUN, { projectId, agent: 'a' })).startAgentRun;
    await mutate(app.url, UPDATE_STEP, { runId: run.id, stepId: 's', name: 'S', status: 'SKIPPED' });
    await expectError(app, UPDATE_STEP, { runId: run.id, stepId: 's', name: 'S', status: 'RUNNING' }, 'INVALID_TRANSITION');
    await mutate(app.url, FAIL_RUN, { runId: run.id, error: 'x' });
    await expectError(app, COMPLETE_RUN, { runId: run.id }, 'INVALID_TRANSITION');
    await expectError(app, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'late' }, 'INVALID_TRANSITION');

    const flow = (await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['n'] })).startWorkflowRun;
    await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'n', status: 'SUCCEEDED' });
    await expectError(app, UPDATE_NODE, { runId: flow.id, nodeId: 'n', status: 'FAILED' }, 'INVALID_TRANSITION');
    await mutate(app.url, FINISH_WORKFLOW, { runId: flow.id, status: 'SUCCEEDED' });
    await expectError(app, FINISH_WORKFLOW, { runId: flow.id, status: 'CANCELLED' }, 'INVALID_TRANSITION');
    await expectError(app, UPDATE_NODE, { runId: flow.id, nodeId: 'n', status: 'SUCCEEDED' }, 'INVALID_TRANSITION');
  });

  it('pages a run\'s messages by index, backwards and forwards, never past messageCount', async () => {
    const app = await start();
    const run = (await mutate(app.url, START_RUN, { projectId: `pages-${backend}`, agent: 'a' })).startAgentRun;
    for (let index = 0; index < 7; index++) {
      const message = (await mutate(app.url, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content: `m${index}` })).appendAgentMessage;
      expect(message.index).toBe(index);
    }
    const page = async (args: string) => {
      const result = await request(app.url, `query ($id: ID!) { agentRun(id: $id) { messageCount messages${args} { index content } } }`, { id: run.id });
      expect(result.errors).toBeUndefined();
      return result.data!.agentRun.messages.map((message: { index: number }) => message.index);
    };
    expect(await page('')).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await page('(last: 3)')).toEqual([4, 5, 6]);
    expect(await page('(last: 3, before: 4)')).toEqual([1, 2, 3]);
    expect(await page('(last: 3, before: 2)')).toEqual([0, 1]);
    expect(await page('(first: 2)')).toEqual([0, 1]);
    expect(await page('(first: 2, after: 4)')).toEqual([5, 6]);
    expect(await page('(first: 2, after: 6)')).toEqual([]);
    expect(await page('(last: 0)')).toEqual([]);
    for (const [args, field] of [['(last: 501)', 'last'], ['(first: -1)', 'first'], ['(first: 1, last: 1)', 'first']] as const) {
      const refused = await request(app.url, `query ($id: ID!) { agentRun(id: $id) { messages${args} { index } } }`, { id: run.id });
      expect(refused.data).toEqual({ agentRun: null });
      expect(refused.errors!.map((error) => error.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field }]);
    }
  });

  it('bounds messages and steps per run and nodes per workflow, refusing one more with BAD_USER_INPUT and changing nothing', async () => {
    const app = await pool.start(
      testConfig(backend, prefix, { entityLimits: { maxMessagesPerRun: 3, maxStepsPerRun: 2, maxNodesPerWorkflow: 4 } }),
    );
    const projectId = `bounded-${backend}`;
    const run = (await mutate(app.url, START_RUN, { projectId, agent: 'a' })).startAgentRun;
    for (let index = 0; index < 3; index++) await mutate(app.url, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: `m${index}` });
    expect(await expectError(app, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'one more' }, 'BAD_USER_INPUT', 'runId')).toBe(
      `runId: agent run "${run.id}" already has the most messages allowed (3)`,
    );
    await mutate(app.url, UPDATE_STEP, { runId: run.id, stepId: 'a', name: 'A', status: 'RUNNING' });
    await mutate(app.url, UPDATE_STEP, { runId: run.id, stepId: 'b', name: 'B', status: 'RUNNING' });
    await expectError(app, UPDATE_STEP, { runId: run.id, stepId: 'c', name: 'C', status: 'RUNNING' }, 'BAD_USER_INPUT', 'stepId');
    // A step already there can still change.
    await mutate(app.url, UPDATE_STEP, { runId: run.id, stepId: 'a', name: 'A', status: 'COMPLETED' });
    const stored = (await request(app.url, RUN, { id: run.id })).data!.agentRun;
    expect(stored).toMatchObject({ messageCount: 3, stepCount: 2 });
    expect(stored.messages.map((message: { content: string }) => message.content)).toEqual(['m0', 'm1', 'm2']);

    await expectError(app, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['a', 'b', 'c', 'd', 'e'] }, 'BAD_USER_INPUT', 'nodeIds');
    expect((await request(app.url, WORKFLOWS, { projectId })).data!.workflowRuns).toEqual([]);
    await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['a', 'b', 'c', 'd'] });
  });

  it('keeps run summaries in step with the changes: counts per status, steps and messages', async () => {
    const app = await start();
    const projectId = `summary-${backend}`;
    const flow = (await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['a', 'b', 'c'] })).startWorkflowRun;
    expect(flow).toMatchObject({ nodeCount: 3, nodeCounts: { pending: 3, running: 0, succeeded: 0, failed: 0, skipped: 0 } });
    await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'a', status: 'RUNNING' });
    await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'a', status: 'SUCCEEDED', output: 'ok' });
    const updated = (await mutate(app.url, UPDATE_NODE, { runId: flow.id, nodeId: 'b', status: 'SKIPPED' })).updateWorkflowNodeState;
    expect(updated.nodeCounts).toEqual({ pending: 1, running: 0, succeeded: 1, failed: 0, skipped: 1 });
    expect(updated.nodes.map((node: { nodeId: string; output: string | null }) => [node.nodeId, node.output])).toEqual([
      ['a', 'ok'],
      ['b', null],
      ['c', null],
    ]);
  });

  it('publishes nothing and changes nothing for a rejected mutation', async () => {
    const app = await start();
    const projectId = `rejected-${backend}`;
    const job = (await mutate(app.url, CREATE_JOB, { projectId, source: 's', totalItems: 2 })).createIngestJob;
    const client = connectWebSocket(app.url);
    clients.push(client);
    const events = subscribeOverWebSocket<ProjectEvent>(client, PROJECT_STREAM, { projectId });
    await waitFor(() => app.feeds.subscriberCount(projectId) === 1, { what: 'the subscriber' });

    await expectError(app, UPDATE_PROGRESS, { id: job.id, progress: 2 }, 'BAD_USER_INPUT', 'progress');
    await expectError(app, UPDATE_PROGRESS, { id: job.id, progress: 0.5, processedItems: 3 }, 'BAD_USER_INPUT', 'processedItems');
    await mutate(app.url, COMPLETE_JOB, { id: job.id });
    await expectError(app, FAIL_JOB, { id: job.id, error: 'late' }, 'INVALID_TRANSITION');
    await expectError(app, UPDATE_PROGRESS, { id: job.id, progress: 0.1 }, 'INVALID_TRANSITION');
    const marker = (await mutate(app.url, CREATE_JOB, { projectId, source: 'marker' })).createIngestJob;

    const received = (await events.waitForResults(2)).map((result) => result.projectEvents);
    expect(received.map((event) => [event.type, event.job?.id])).toEqual([
      ['INGEST_JOB_COMPLETED', job.id],
      ['INGEST_JOB_CREATED', marker.id],
    ]);
    // Consecutive positions: the rejected mutations took none.
    const [a, b] = received.map((event) => Number(event.cursor.split(':')[1]));
    expect(b).toBe(a! + 1);
    const stored = (await request(app.url, JOB, { id: job.id })).data!.ingestJob;
    expect(stored).toMatchObject({ status: 'COMPLETED', progress: 1, processedItems: null, error: null });
  });
});
