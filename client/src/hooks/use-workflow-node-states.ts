import type { WorkflowRunFieldsFragment } from '../generated/graphql.js';
import { WorkflowStream } from '../operations.js';
import type { StreamView } from './use-project-stream.js';
import { useProjectStream } from './use-project-stream.js';

export type WorkflowRun = WorkflowRunFieldsFragment;
export type WorkflowNodeState = WorkflowRun['nodes'][number];

/**
 * The project's workflow runs (or one run) with the state of each node, kept current live.
 * With a `runId`, `nodes` is that run's node states.
 */
export function useWorkflowNodeStates(
  projectId: string,
  runId?: string,
): StreamView<WorkflowRun> & { runs: WorkflowRun[]; run?: WorkflowRun; nodes: WorkflowNodeState[] } {
  const view = useProjectStream({
    projectId,
    id: runId,
    select: (snapshot) => snapshot.workflowRuns,
    subscription: WorkflowStream,
    variables: (after) => ({ projectId, runId: runId ?? null, after: after || null }),
    eventOf: (data) => ({ cursor: data.workflowNodeState.cursor, entity: data.workflowNodeState.run }),
  });
  const run = runId === undefined ? undefined : view.entities[0];
  return { ...view, runs: view.entities, run, nodes: run?.nodes ?? [] };
}
