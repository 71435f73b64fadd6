import { mutate } from './clients.js';
import {
  APPEND_MESSAGE,
  COMPLETE_JOB,
  COMPLETE_RUN,
  CREATE_JOB,
  FAIL_JOB,
  FAIL_RUN,
  FINISH_WORKFLOW,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  UPDATE_STEP,
} from './operations.js';

/** Every event type, in the order `runEveryEventType` produces them. */
export const EVERY_EVENT_TYPE_IN_ORDER = [
  'INGEST_JOB_CREATED',
  'INGEST_JOB_UPDATED',
  'INGEST_JOB_COMPLETED',
  'INGEST_JOB_CREATED',
  'INGEST_JOB_FAILED',
  'AGENT_RUN_CREATED',
  'AGENT_RUN_UPDATED',
  'AGENT_STEP_UPDATED',
  'AGENT_MESSAGE_APPENDED',
  'AGENT_RUN_COMPLETED',
  'AGENT_RUN_CREATED',
  'AGENT_RUN_FAILED',
  'WORKFLOW_RUN_UPDATED',
  'WORKFLOW_NODE_STATE_UPDATED',
  'WORKFLOW_RUN_UPDATED',
] as const;

/** Drives one project through every kind of change, one mutation after another. */
export async function runEveryEventType(url: string, projectId: string) {
  const job = (await mutate(url, CREATE_JOB, { projectId, source: 's3://bucket/a', totalItems: 10 })).createIngestJob;
  await mutate(url, UPDATE_PROGRESS, { id: job.id, progress: 0.5, processedItems: 5, message: 'halfway' });
  await mutate(url, COMPLETE_JOB, { id: job.id });
  const failing = (await mutate(url, CREATE_JOB, { projectId, source: 's3://bucket/b' })).createIngestJob;
  await mutate(url, FAIL_JOB, { id: failing.id, error: 'bucket not found' });

  const run = (await mutate(url, START_RUN, { projectId, agent: 'researcher' })).startAgentRun;
  await mutate(url, UPDATE_STEP, { runId: run.id, stepId: 'plan', name: 'Plan', status: 'RUNNING' });
  await mutate(url, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content: 'Looking into it' });
  await mutate(url, COMPLETE_RUN, { runId: run.id, output: 'done' });
  const failingRun = (await mutate(url, START_RUN, { projectId, agent: 'writer' })).startAgentRun;
  await mutate(url, FAIL_RUN, { runId: failingRun.id, error: 'model unavailable' });

  const workflow = (await mutate(url, START_WORKFLOW, { projectId, workflowId: 'etl', nodeIds: ['extract', 'load'] }))
    .startWorkflowRun;
  await mutate(url, UPDATE_NODE, { runId: workflow.id, nodeId: 'extract', status: 'SUCCEEDED', output: '10 rows' });
  await mutate(url, FINISH_WORKFLOW, { runId: workflow.id, status: 'CANCELLED' });
  return { job, failing, run, failingRun, workflow };
}
