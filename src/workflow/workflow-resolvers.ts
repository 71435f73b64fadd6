import { requireRead, requireWrite, visibleTo } from '../auth/viewer.js';
import type { WorkflowEventRecord } from '../events/event-record.js';
import { isWorkflowEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { idempotentCall } from '../idempotency/request-idempotency.js';

export const workflowResolvers: Resolvers = {
  Query: {
    workflowRun: async (_, { id }, { workflow, viewer }) => visibleTo(viewer, await workflow.get(id)),
    workflowRuns: (_, { projectId }, { workflow, viewer }) => {
      requireRead(viewer, projectId);
      return workflow.list(projectId);
    },
  },
  WorkflowRun: {
    nodes: (run, _, { workflow }) => workflow.nodes(run),
  },
  Mutation: {
    startWorkflowRun: (_, args, { workflow, viewer, idempotency }, info) => {
      requireWrite(viewer, args.projectId);
      return workflow.start(args, idempotentCall(idempotency, info));
    },
    updateWorkflowNodeState: (_, args, { workflow, access, idempotency }, info) =>
      workflow.updateNodeState(args, access, idempotentCall(idempotency, info)),
    finishWorkflowRun: (_, args, { workflow, access, idempotency }, info) =>
      workflow.finish(args, access, idempotentCall(idempotency, info)),
  },
  Subscription: {
    workflowNodeState: {
      subscribe: (_, { projectId, runId, after }, context) =>
        context.streams.open(context, {
          field: 'workflowNodeState',
          projectId,
          after,
          accepts: (event): event is WorkflowEventRecord =>
            isWorkflowEvent(event) && (runId == null || event.run.id === runId),
        }),
      resolve: (event: WorkflowEventRecord) => event,
    },
  },
};
