import type { WorkflowNodeState, WorkflowRun } from '../merge-workflow-run.js';
import { mergeWorkflowRunChange } from '../merge-workflow-run.js';
import { WorkflowStream } from '../operations.js';
import type { StreamView } from './use-project-stream.js';
import { useProjectStream } from './use-project-stream.js';

export type { WorkflowNodeState, WorkflowRun } from '../merge-workflow-run.js';

export interface WorkflowNodeStatesOptions {
  /** Narrows the view to one run; `nodes` is then that run's node states. */
  runId?: string;
}

export type WorkflowNodeStatesView = StreamView<WorkflowRun> & { runs: WorkflowRun[]; run?: WorkflowRun; nodes: WorkflowNodeState[] };

/**
 * The project's workflow runs (or one run), each with its summary (status, node counts)
 * and the state of each node, kept current live. With a `runId`, `nodes` is that run's
 * node states.
 *
 * @example
 * const { nodes } = useWorkflowNodeStates('demo', { runId });
 */
export function useWorkflowNodeStates(projectId: string, runIdOrOptions?: string | WorkflowNodeStatesOptions): WorkflowNodeStatesView {
  const { runId } = typeof runIdOrOptions === 'object' ? runIdOrOptions : { runId: runIdOrOptions };
  const view = useProjectStream({
    projectId,
    id: runId,
    select: (snapshot) => snapshot.workflowRuns,
    subscription: WorkflowStream,
    variables: (after) => ({ projectId, runId: runId ?? null, after: after || null }),
    changeOf: ({ workflowNodeState: event }) => ({
      cursor: event.cursor,
      id: event.run.id,
      apply: (run: WorkflowRun | undefined) => mergeWorkflowRunChange(run, event),
    }),
  });
  const run = runId === undefined ? undefined : view.entities[0];
  return { ...view, runs: view.entities, run, nodes: run?.nodes ?? [] };
}
