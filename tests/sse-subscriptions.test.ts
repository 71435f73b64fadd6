import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import type { RecordedSubscription } from './support/clients.js';
import { mutate, subscribeOverSse } from './support/clients.js';
import type { ProjectEvent } from './support/operations.js';
import {
  AGENT_RUN_STREAM,
  INGEST_JOB_STREAM,
  PROJECT_STREAM,
  UPDATE_PROGRESS,
  CREATE_JOB,
  WORKFLOW_STREAM,
} from './support/operations.js';
import { redisForTests } from './support/redis.js';
import { EVERY_EVENT_TYPE_IN_ORDER, runEveryEventType } from './support/scenario.js';
import { createAppPool, testConfig } from './support/servers.js';
import { waitFor } from './support/wait-for.js';

const { prefix } = redisForTests('sse');
const pool = createAppPool();
const subscriptions: Array<RecordedSubscription<unknown>> = [];
afterEach(async () => {
  subscriptions.splice(0).forEach((subscription) => subscription.dispose());
  await pool.stopAll();
});

async function subscribeLive<T>(app: App, query: string, variables: Record<string, unknown> & { projectId: string }) {
  const before = app.feeds.subscriberCount(variables.projectId);
  const subscription = subscribeOverSse<T>(app.url, query, variables);
  subscriptions.push(subscription as RecordedSubscription<unknown>);
  await waitFor(() => app.feeds.subscriberCount(variables.projectId) > before || subscription.errors.length > 0, {
    what: 'the SSE subscription to go live',
  });
  return subscription;
}

describe('subscriptions over SSE (Redis backend)', () => {
  it('serves each of the four subscriptions, filtered and in order', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = 'sse-all';
    const jobs = await subscribeLive<any>(app, INGEST_JOB_STREAM, { projectId });
    const runs = await subscribeLive<any>(app, AGENT_RUN_STREAM, { projectId });
    const workflows = await subscribeLive<any>(app, WORKFLOW_STREAM, { projectId });
    const everything = await subscribeLive<ProjectEvent>(app, PROJECT_STREAM, { projectId });
    const other = await subscribeLive<ProjectEvent>(app, PROJECT_STREAM, { projectId: 'sse-other' });
    await runEveryEventType(app.url, projectId);

    expect((await jobs.waitForResults(5)).map((result) => result.ingestJob.type)).toEqual(
      EVERY_EVENT_TYPE_IN_ORDER.slice(0, 5),
    );
    expect((await runs.waitForResults(7)).map((result) => result.agentRun.type)).toEqual(
      EVERY_EVENT_TYPE_IN_ORDER.slice(5, 12),
    );
    expect((await workflows.waitForResults(3)).map((result) => result.workflowNodeState.type)).toEqual(
      EVERY_EVENT_TYPE_IN_ORDER.slice(12),
    );
    const all = await everything.waitForResults(EVERY_EVENT_TYPE_IN_ORDER.length);
    expect(all.map((result) => result.projectEvents.type)).toEqual(EVERY_EVENT_TYPE_IN_ORDER);
    expect(other.results).toEqual([]);
  });

  it('narrows by jobId over SSE and releases the subscription when the client goes away', async () => {
    const app = await pool.start(testConfig('redis', prefix));
    const projectId = 'sse-filter';
    const wanted = (await mutate(app.url, CREATE_JOB, { projectId, source: 'wanted' })).createIngestJob;
    const unwanted = (await mutate(app.url, CREATE_JOB, { projectId, source: 'unwanted' })).createIngestJob;
    const stream = await subscribeLive<any>(app, INGEST_JOB_STREAM, { projectId, jobId: wanted.id });
    await mutate(app.url, UPDATE_PROGRESS, { id: unwanted.id, progress: 0.1 });
    await mutate(app.url, UPDATE_PROGRESS, { id: wanted.id, progress: 0.2 });
    const [event] = await stream.waitForResults(1);
    expect(event.ingestJob.job).toMatchObject({ id: wanted.id, progress: 0.2 });
    stream.dispose();
    await waitFor(() => app.feeds.subscriberCount(projectId) === 0, { what: 'the SSE subscriber to detach' });
  });
});
