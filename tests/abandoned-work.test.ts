import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from './support/servers.js';
import { mutate } from './support/clients.js';
import {
  APPEND_CONTENT,
  CREATE_JOB,
  JOB,
  RUN,
  START_MESSAGE,
  START_RUN,
  START_WORKFLOW,
  UPDATE_PROGRESS,
  WORKFLOW,
} from './support/operations.js';
import { redisForTests } from './support/redis.js';
import { createAppPool, testConfig } from './support/servers.js';
import { watchProject } from './support/project-watch.js';
import { createTeardown } from './support/teardown.js';

const { prefix } = redisForTests('abandoned');
const pool = createAppPool();
afterEach(() => pool.stopAll());
const teardown = createTeardown();

const AFTER_MS = 60_000;

/** Two instances on one store, sharing a clock the test moves by hand. */
async function twoInstances(backend: Exclude<Backend, 'memory'>) {
  const clock = { time: Date.now() };
  const config = testConfig(backend, `${prefix}${randomUUID().slice(0, 6)}:`, {
    producing: { idempotencyWindowMs: 86_400_000, abandonedAfterMs: AFTER_MS },
    now: () => clock.time,
  });
  const [one, two] = await Promise.all([pool.start(config), pool.start(config)]);
  return { one: one!, two: two!, advance: (ms: number) => void (clock.time += ms) };
}

describe.each(['redis', 'cluster'] as const)('work whose producer vanished (%s)', (backend) => {
  it('is failed once by one of two instances, streaming messages finished, while work that changed stays open', async () => {
    const { one, two, advance } = await twoInstances(backend);
    const projectId = `vanished-${randomUUID().slice(0, 8)}`;
    const url = one.url;
    const lostJob = (await mutate(url, CREATE_JOB, { projectId, source: 'lost' })).createIngestJob;
    const liveJob = (await mutate(url, CREATE_JOB, { projectId, source: 'live' })).createIngestJob;
    const lostRun = (await mutate(url, START_RUN, { projectId, agent: 'lost' })).startAgentRun;
    const lostMessage = (await mutate(url, START_MESSAGE, { runId: lostRun.id, role: 'ASSISTANT' })).startAgentMessage;
    await mutate(url, APPEND_CONTENT, { runId: lostRun.id, messageId: lostMessage.id, text: 'half a tho' });
    const liveRun = (await mutate(url, START_RUN, { projectId, agent: 'live' })).startAgentRun;
    const liveMessage = (await mutate(url, START_MESSAGE, { runId: liveRun.id, role: 'ASSISTANT' })).startAgentMessage;
    const lostWorkflow = (await mutate(url, START_WORKFLOW, { projectId, workflowId: 'lost', nodeIds: ['a'] })).startWorkflowRun;
    const { settled } = await watchProject(two, projectId, teardown.push);

    advance(AFTER_MS - 10_000);
    // Alive producers keep their work open by changing it: a progress update, a piece of text.
    await mutate(two.url, UPDATE_PROGRESS, { id: liveJob.id, progress: 0.5 });
    await mutate(two.url, APPEND_CONTENT, { runId: liveRun.id, messageId: liveMessage.id, text: 'still talking' });
    advance(20_000);
    // Both sweep at once; a second sweep asked of a busy instance is that same sweep.
    const [byOne, byTwo, byOneAgain] = await Promise.all([one.sweepAbandonedWork(), two.sweepAbandonedWork(), one.sweepAbandonedWork()]);
    expect(byOneAgain).toBe(byOne);
    expect(byOne + byTwo).toBe(3);

    const job = (await mutate(url, JOB, { id: lostJob.id })).ingestJob;
    expect(job.status).toBe('FAILED');
    expect(job.error).toMatch(/abandoned: no change for 60 s/);
    const run = (await mutate(url, RUN, { id: lostRun.id })).agentRun;
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/ABANDONED_AFTER_SECONDS/);
    expect(run.messages).toEqual([expect.objectContaining({ id: lostMessage.id, status: 'COMPLETE', content: 'half a tho' })]);
    expect((await mutate(url, WORKFLOW, { id: lostWorkflow.id })).workflowRun.status).toBe('FAILED');
    expect((await mutate(url, JOB, { id: liveJob.id })).ingestJob.status).toBe('RUNNING');
    const live = (await mutate(url, RUN, { id: liveRun.id })).agentRun;
    expect(live.status).toBe('PENDING');
    expect(live.messages[0].status).toBe('STREAMING');

    const events = await settled();
    const once = (type: string, id: string) =>
      events.filter((event) => event.type === type && [event.job?.id, event.agentRun?.id, event.workflowRun?.id].includes(id));
    expect(once('INGEST_JOB_FAILED', lostJob.id)).toHaveLength(1);
    expect(once('AGENT_MESSAGE_COMPLETED', lostRun.id)).toHaveLength(1);
    expect(once('AGENT_RUN_FAILED', lostRun.id)).toHaveLength(1);
    expect(once('WORKFLOW_RUN_UPDATED', lostWorkflow.id)).toHaveLength(1);
    const ended = ['INGEST_JOB_FAILED', 'AGENT_MESSAGE_COMPLETED', 'AGENT_RUN_FAILED'];
    expect(events.filter((event) => ended.includes(event.type) && [liveJob.id, liveRun.id].includes(event.job?.id ?? event.agentRun!.id))).toEqual([]);

    // Another sweep later finds nothing more to fail.
    expect(await one.sweepAbandonedWork()).toBe(0);
  });
});

it('fails nothing when ABANDONED_AFTER_SECONDS is unset', async () => {
  let time = Date.now();
  const app = await pool.start(testConfig('memory', prefix, { now: () => time }));
  const job = (await mutate(app.url, CREATE_JOB, { projectId: 'kept', source: 'idle' })).createIngestJob;
  time += 365 * 86_400_000;
  expect(await app.sweepAbandonedWork()).toBe(0);
  expect((await mutate(app.url, JOB, { id: job.id })).ingestJob.status).toBe('PENDING');
});
