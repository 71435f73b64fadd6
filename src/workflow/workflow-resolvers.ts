import type { WorkflowEventRecord } from '../events/event-record.js';
import { isWorkflowEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const workflowResolvers: Resolvers = {
  Query: {
    workflowRun: async (_, { id }, { workflow }) => (await workflow.get(id)) ?? null,
    workflowRuns: (_, { projectId }, { workflow }) => workflow.list(projectId),
  },
  Mutation: {
    startWorkflowRun: (_, args, { workflow }) => workflow.start(args),
    updateWorkflowNodeState: (_, args, { workflow }) => workflow.updateNodeState(args),
    finishWorkflowRun: (_, args, { workflow }) => workflow.finish(args),
  },
  Subscription: {
    workflowNodeState: {
      subscribe: (_, { projectId, runId, after }, { streams }) =>
        streams.open({
          projectId,
          after,
          accepts: (event): event is WorkflowEventRecord =>
            isWorkflowEvent(event) && (runId == null || event.run.id === runId),
        }),
      resolve: (event: WorkflowEventRecord) => event,
    },
  },
};
