import { requireRead, requireWrite, visibleTo } from '../auth/viewer.js';
import type { AgentRunEventRecord } from '../events/event-record.js';
import { isAgentRunEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const agentResolvers: Resolvers = {
  Query: {
    agentRun: async (_, { id }, { agent, viewer }) => visibleTo(viewer, await agent.get(id)),
    agentRuns: (_, { projectId }, { agent, viewer }) => {
      requireRead(viewer, projectId);
      return agent.list(projectId);
    },
  },
  AgentRun: {
    steps: (run, _, { agent }) => agent.steps(run),
    messages: (run, page, { agent }) => agent.messages(run, page),
  },
  AgentMessage: {
    content: (message, _, { agent }) => agent.contentOf(message),
  },
  Mutation: {
    startAgentRun: (_, args, { agent, viewer }) => {
      requireWrite(viewer, args.projectId);
      return agent.start(args);
    },
    updateAgentStep: (_, args, { agent, access }) => agent.updateStep(args, access),
    appendAgentMessage: (_, args, { agent, access }) => agent.appendMessage(args, access),
    startAgentMessage: (_, args, { agent, access }) => agent.startMessage(args, access),
    appendAgentMessageContent: (_, args, { agent, access }) => agent.appendContent(args, access),
    finishAgentMessage: (_, args, { agent, access }) => agent.finishMessage(args, access),
    completeAgentRun: (_, args, { agent, access }) => agent.complete(args, access),
    failAgentRun: (_, args, { agent, access }) => agent.fail(args, access),
  },
  Subscription: {
    agentRun: {
      subscribe: (_, { projectId, runId, after }, context) =>
        context.streams.open(context, {
          field: 'agentRun',
          projectId,
          after,
          accepts: (event): event is AgentRunEventRecord =>
            isAgentRunEvent(event) && (runId == null || event.run.id === runId),
        }),
      resolve: (event: AgentRunEventRecord) => event,
    },
  },
};
