import type { Access } from '../auth/viewer.js';
import { SERVER_ACCESS } from '../auth/viewer.js';
import type { EntityLimits } from '../config.js';
import { badUserInput, invalidTransition } from '../errors.js';
import type { NodeStatus, WorkflowRunStatus } from '../generated/resolvers-types.js';
import { newEntityId } from '../store/entity-ids.js';
import type { ChangeApplier, EntityRules, IdempotentCall } from '../store/change-applier.js';
import type { WorkflowNodeRecord, WorkflowRunRecord } from '../store/records.js';
import type { StateStore } from '../store/state-store.js';
import { optionalText, requireId, requireText } from '../validation.js';

const FINISHED_STATUSES: ReadonlySet<WorkflowRunStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const FINAL_NODE_STATUSES: ReadonlySet<NodeStatus> = new Set(['SUCCEEDED', 'FAILED', 'SKIPPED']);
const MAX_OUTPUT_LENGTH = 100_000;

const RUN_RULES: EntityRules<'workflowRun'> = {
  kind: 'workflowRun',
  label: 'Workflow run',
  finalStatus: (run) => (FINISHED_STATUSES.has(run.status) ? run.status : undefined),
};

/** The summary's counter for each node status. */
const COUNTER = {
  PENDING: 'pending',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  SKIPPED: 'skipped',
} as const satisfies Record<NodeStatus, keyof WorkflowRunRecord['nodeCounts']>;

export interface WorkflowService {
  get(id: string): Promise<WorkflowRunRecord | undefined>;
  list(projectId: string): Promise<WorkflowRunRecord[]>;
  /** The run's nodes in the order the run named them. */
  nodes(run: WorkflowRunRecord): Promise<WorkflowNodeRecord[]>;
  /** Every change takes an idempotency key's call, so that a repeat changes nothing and gets the first answer. */
  start(input: { projectId: string; workflowId: string; nodeIds: readonly string[] }, idempotent?: IdempotentCall): Promise<WorkflowRunRecord>;
  updateNodeState(
    input: { runId: string; nodeId: string; status: NodeStatus; output?: string | null; error?: string | null },
    access: Access,
    idempotent?: IdempotentCall,
  ): Promise<WorkflowRunRecord>;
  finish(input: { runId: string; status: WorkflowRunStatus }, access: Access, idempotent?: IdempotentCall): Promise<WorkflowRunRecord>;
  /** FAILED for a run that saw no change after `idleSince` (ms); see `createAbandonedWorkSweeper`. */
  abandon(runId: string, idleSince: number): Promise<WorkflowRunRecord>;
}

/**
 * Workflow runs. A run is stored as its summary with a count per node status; each node is
 * written on its own, so a node update costs that node, and its event carries that node.
 */
export function createWorkflowService(
  dependencies: { store: StateStore; changes: ChangeApplier; limits: Pick<EntityLimits, 'maxNodesPerWorkflow'> },
  now: () => Date = () => new Date(),
): WorkflowService {
  const { store, changes, limits } = dependencies;

  function finishRun(runId: string, status: WorkflowRunStatus, access: Access, idempotent?: IdempotentCall, ifIdleSince?: number) {
    return changes.update(RUN_RULES, runId, access, 'finish', (run) => {
      const at = now().toISOString();
      const next: WorkflowRunRecord = { ...run, status, updatedAt: at };
      return {
        projectId: run.projectId,
        value: next,
        finished: true,
        events: [{ type: 'WORKFLOW_RUN_UPDATED', projectId: run.projectId, occurredAt: at, run: next }],
        ifIdleSince,
      };
    }, idempotent);
  }

  return {
    async get(id) {
      return (await store.get('workflowRun', id))?.value;
    },
    list(projectId) {
      return store.list('workflowRun', requireId('projectId', projectId));
    },
    nodes(run) {
      return store.members('nodes', run.id);
    },
    start(input, idempotent) {
      const projectId = requireId('projectId', input.projectId);
      const workflowId = requireText('workflowId', input.workflowId, 256);
      if (input.nodeIds.length === 0) throw badUserInput('nodeIds', 'must name at least one node');
      if (input.nodeIds.length > limits.maxNodesPerWorkflow) {
        throw badUserInput('nodeIds', `must name at most ${limits.maxNodesPerWorkflow} nodes, got ${input.nodeIds.length}`);
      }
      const nodeIds = input.nodeIds.map((nodeId) => requireId('nodeIds', nodeId));
      const seen = new Set<string>();
      for (const nodeId of nodeIds) {
        if (seen.has(nodeId)) throw badUserInput('nodeIds', `names node "${nodeId}" twice`);
        seen.add(nodeId);
      }
      const id = newEntityId(projectId);
      return changes.apply('workflowRun', id, () => {
        const at = now().toISOString();
        const nodes: WorkflowNodeRecord[] = nodeIds.map((nodeId, index) => ({
          nodeId,
          index,
          status: 'PENDING',
          output: null,
          error: null,
          updatedAt: at,
        }));
        const run: WorkflowRunRecord = {
          id,
          projectId,
          workflowId,
          status: 'RUNNING',
          createdAt: at,
          updatedAt: at,
          nodeCount: nodes.length,
          nodeCounts: { pending: nodes.length, running: 0, succeeded: 0, failed: 0, skipped: 0 },
        };
        return {
          projectId,
          value: run,
          put: nodes.map((node) => ({ collection: 'nodes', key: node.nodeId, value: node })),
          events: [{ type: 'WORKFLOW_RUN_UPDATED', projectId, occurredAt: at, run, nodes }],
        };
      }, idempotent && { ...idempotent, projectId });
    },
    updateNodeState(input, access, idempotent) {
      const { runId, nodeId, status } = input;
      const output = optionalText('output', input.output, MAX_OUTPUT_LENGTH);
      const error = optionalText('error', input.error, 4096);
      return changes.update(RUN_RULES, runId, access, 'update a node of', async (run) => {
        const [previous] = await store.members('nodes', run.id, [nodeId]);
        if (!previous) throw badUserInput('nodeId', `workflow run "${runId}" has no node "${nodeId}"`);
        if (FINAL_NODE_STATUSES.has(previous.status) && previous.status !== status) {
          throw invalidTransition(`node "${nodeId}" is already ${previous.status} and cannot become ${status}`);
        }
        const at = now().toISOString();
        const nodeState: WorkflowNodeRecord = {
          nodeId,
          index: previous.index,
          status,
          output: output ?? previous.output ?? null,
          error: error ?? previous.error ?? null,
          updatedAt: at,
        };
        const nodeCounts = { ...run.nodeCounts };
        nodeCounts[COUNTER[previous.status]]--;
        nodeCounts[COUNTER[status]]++;
        const next: WorkflowRunRecord = { ...run, nodeCounts, updatedAt: at };
        return {
          projectId: run.projectId,
          value: next,
          put: [{ collection: 'nodes', key: nodeId, value: nodeState }],
          events: [{ type: 'WORKFLOW_NODE_STATE_UPDATED', projectId: run.projectId, occurredAt: at, run: next, nodeState }],
        };
      }, idempotent);
    },
    finish(input, access, idempotent) {
      const { runId, status } = input;
      if (!FINISHED_STATUSES.has(status)) {
        throw badUserInput('status', `must be SUCCEEDED, FAILED or CANCELLED, got ${status}`);
      }
      return finishRun(runId, status, access, idempotent);
    },
    abandon(runId, idleSince) {
      return finishRun(runId, 'FAILED', SERVER_ACCESS, undefined, idleSince);
    },
  };
}
