import type { AgentRunEventRecord } from '../events/event-record.js';
import { isAgentRunEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const agentResolvers: Resolvers = {
  Query: {
    agentRun: async (_, { id }, { agent }) => (await agent.get(id)) ?? null,
    agentRuns: (_, { projectId }, { agent }) => agent.list(projectId),
  },
  Mutation: {
    startAgentRun: (_, args, { agent }) => agent.start(args),
    updateAgentStep: (_, args, { agent }) => agent.updateStep(args),
    appendAgentMessage: (_, args, { agent }) => agent.appendMessage(args),
    completeAgentRun: (_, args, { agent }) => agent.complete(args),
    failAgentRun: (_, args, { agent }) => agent.fail(args),
  },
  Subscription: {
    agentRun: {
      subscribe: (_, { projectId, runId, after }, { streams }) =>
        streams.open({
          projectId,
          after,
          accepts: (event): event is AgentRunEventRecord =>
            isAgentRunEvent(event) && (runId == null || event.run.id === runId),
        }),
      resolve: (event: AgentRunEventRecord) => event,
    },
  },
};
