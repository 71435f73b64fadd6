import { requireRead, requireWrite, visibleTo } from '../auth/viewer.js';
import type { WorkflowEventRecord } from '../events/event-record.js';
import { isWorkflowEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';

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
    startWorkflowRun: (_, args, { workflow, viewer }) => {
      requireWrite(viewer, args.projectId);
      return workflow.start(args);
    },
    updateWorkflowNodeState: (_, args, { workflow, access }) => workflow.updateNodeState(args, access),
    finishWorkflowRun: (_, args, { workflow, access }) => workflow.finish(args, access),
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
