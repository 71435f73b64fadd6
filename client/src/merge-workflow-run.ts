import type { WorkflowRunFieldsFragment, WorkflowRunSummaryFieldsFragment, WorkflowStreamSubscription } from './generated/graphql.js';
import { upsertBy } from './merge.js';

/**
 * A workflow run as a view holds it: the summary of the last event applied and every node,
 * in the shape `WorkflowRunFields` selects, so a view and a query of the run compare equal.
 */
export type WorkflowRun = WorkflowRunSummaryFieldsFragment & Pick<WorkflowRunFieldsFragment, 'nodes'>;
export type WorkflowNodeState = WorkflowRun['nodes'][number];

/** What a `WorkflowStream` event carries. */
export type WorkflowRunChange = Pick<WorkflowStreamSubscription['workflowNodeState'], 'run' | 'nodeState' | 'nodes'>;

/**
 * A workflow run after one event of its stream: the summary replaced by the event's, and
 * each node the event carries (the changed one, or all of them on the event that starts
 * the run) put in place of the node with its `nodeId`.
 *
 * @returns `undefined` for a run the view does not hold when the event does not carry all
 *   its nodes (any event but the start).
 */
export function mergeWorkflowRunChange(run: WorkflowRun | undefined, change: WorkflowRunChange): WorkflowRun | undefined {
  const changed = change.nodes ?? (change.nodeState ? [change.nodeState] : []);
  if (!run && changed.length !== change.run.nodeCount) return undefined;
  return { ...change.run, nodes: upsertBy(run?.nodes ?? [], changed, 'nodeId') };
}
