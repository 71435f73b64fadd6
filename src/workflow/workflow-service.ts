import { randomUUID } from 'node:crypto';
import type { Access } from '../auth/viewer.js';
import { badUserInput, invalidTransition, notFound } from '../errors.js';
import type { NodeStatus, WorkflowNodeState, WorkflowRun, WorkflowRunStatus } from '../generated/resolvers-types.js';
import type { ChangeApplier } from '../store/change-applier.js';
import type { StateStore } from '../store/state-store.js';
import { optionalText, requireId, requireText } from '../validation.js';

const FINISHED_STATUSES: ReadonlySet<WorkflowRunStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const FINAL_NODE_STATUSES: ReadonlySet<NodeStatus> = new Set(['SUCCEEDED', 'FAILED', 'SKIPPED']);
const MAX_NODES = 1000;
const MAX_OUTPUT_LENGTH = 100_000;

export interface WorkflowService {
  get(id: string): Promise<WorkflowRun | undefined>;
  list(projectId: string): Promise<WorkflowRun[]>;
  start(input: { projectId: string; workflowId: string; nodeIds: readonly string[] }): Promise<WorkflowRun>;
  updateNodeState(
    input: { runId: string; nodeId: string; status: NodeStatus; output?: string | null; error?: string | null },
    access: Access,
  ): Promise<WorkflowRun>;
  finish(input: { runId: string; status: WorkflowRunStatus }, access: Access): Promise<WorkflowRun>;
}

export function createWorkflowService(
  dependencies: { store: StateStore; changes: ChangeApplier },
  now: () => Date = () => new Date(),
): WorkflowService {
  const { store, changes } = dependencies;

  function requireRunning(
    current: { value: WorkflowRun } | undefined,
    runId: string,
    access: Access,
    action: string,
  ): WorkflowRun {
    if (!current) throw notFound('Workflow run', runId);
    const run = current.value;
    access.assertWrite(run.projectId, 'Workflow run', runId);
    if (FINISHED_STATUSES.has(run.status)) {
      throw invalidTransition(`cannot ${action} workflow run "${runId}": it has already finished as ${run.status}`);
    }
    return run;
  }

  return {
    async get(id) {
      return (await store.get('workflowRun', id))?.value;
    },
    list(projectId) {
      return store.list('workflowRun', requireId('projectId', projectId));
    },
    start(input) {
      const projectId = requireId('projectId', input.projectId);
      const workflowId = requireText('workflowId', input.workflowId, 256);
      if (input.nodeIds.length === 0) throw badUserInput('nodeIds', 'must name at least one node');
      if (input.nodeIds.length > MAX_NODES) {
        throw badUserInput('nodeIds', `must name at most ${MAX_NODES} nodes, got ${input.nodeIds.length}`);
      }
      const nodeIds = input.nodeIds.map((nodeId) => requireId('nodeIds', nodeId));
      const duplicate = nodeIds.find((nodeId, index) => nodeIds.indexOf(nodeId) !== index);
      if (duplicate !== undefined) throw badUserInput('nodeIds', `names node "${duplicate}" twice`);
      const id = randomUUID();
      return changes.apply('workflowRun', id, () => {
        const at = now().toISOString();
        const run: WorkflowRun = {
          id,
          projectId,
          workflowId,
          status: 'RUNNING',
          nodes: nodeIds.map((nodeId) => ({ nodeId, status: 'PENDING', output: null, error: null, updatedAt: at })),
          createdAt: at,
          updatedAt: at,
        };
        return { projectId, value: run, events: [{ type: 'WORKFLOW_RUN_UPDATED', projectId, occurredAt: at, run }] };
      });
    },
    updateNodeState(input, access) {
      const { runId, nodeId, status } = input;
      const output = optionalText('output', input.output, MAX_OUTPUT_LENGTH);
      const error = optionalText('error', input.error, 4096);
      return changes.apply('workflowRun', runId, (current) => {
        const run = requireRunning(current, runId, access, 'update a node of');
        const index = run.nodes.findIndex((node) => node.nodeId === nodeId);
        if (index === -1) {
          throw badUserInput('nodeId', `workflow run "${runId}" has no node "${nodeId}"`);
        }
        const previous = run.nodes[index]!;
        if (FINAL_NODE_STATUSES.has(previous.status) && previous.status !== status) {
          throw invalidTransition(`node "${nodeId}" is already ${previous.status} and cannot become ${status}`);
        }
        const at = now().toISOString();
        const nodeState: WorkflowNodeState = {
          nodeId,
          status,
          output: output ?? previous.output ?? null,
          error: error ?? previous.error ?? null,
          updatedAt: at,
        };
        const next: WorkflowRun = { ...run, nodes: run.nodes.with(index, nodeState), updatedAt: at };
        return {
          projectId: run.projectId,
          value: next,
          events: [{ type: 'WORKFLOW_NODE_STATE_UPDATED', projectId: run.projectId, occurredAt: at, run: next, nodeState }],
        };
      });
    },
    finish(input, access) {
      const { runId, status } = input;
      if (!FINISHED_STATUSES.has(status)) {
        throw badUserInput('status', `must be SUCCEEDED, FAILED or CANCELLED, got ${status}`);
      }
      return changes.apply('workflowRun', runId, (current) => {
        const run = requireRunning(current, runId, access, 'finish');
        const at = now().toISOString();
        const next: WorkflowRun = { ...run, status, updatedAt: at };
        return {
          projectId: run.projectId,
          value: next,
          events: [{ type: 'WORKFLOW_RUN_UPDATED', projectId: run.projectId, occurredAt: at, run: next }],
        };
      });
    },
  };
}
