import { requireRead, requireWrite, visibleTo } from '../auth/viewer.js';
import type { AgentRunEventRecord } from '../events/event-record.js';
import { isAgentRunEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { idempotentCall } from '../idempotency/request-idempotency.js';

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
    messages: (run, page, { agent, responseBytesLeft }) => agent.messages(run, page, responseBytesLeft?.()),
  },
  AgentMessage: {
    content: (message, _, { agent }) => agent.contentOf(message),
  },
  Mutation: {
    startAgentRun: (_, args, { agent, viewer, idempotency }, info) => {
      requireWrite(viewer, args.projectId);
      return agent.start(args, idempotentCall(idempotency, info));
    },
    updateAgentStep: (_, args, { agent, access, idempotency }, info) => agent.updateStep(args, access, idempotentCall(idempotency, info)),
    appendAgentMessage: (_, args, { agent, access, idempotency }, info) =>
      agent.appendMessage(args, access, idempotentCall(idempotency, info)),
    startAgentMessage: (_, args, { agent, access, idempotency }, info) => agent.startMessage(args, access, idempotentCall(idempotency, info)),
    appendAgentMessageContent: (_, args, { agent, access, idempotency }, info) =>
      agent.appendContent(args, access, idempotentCall(idempotency, info)),
    finishAgentMessage: (_, args, { agent, access, idempotency }, info) =>
      agent.finishMessage(args, access, idempotentCall(idempotency, info)),
    completeAgentRun: (_, args, { agent, access, idempotency }, info) => agent.complete(args, access, idempotentCall(idempotency, info)),
    failAgentRun: (_, args, { agent, access, idempotency }, info) => agent.fail(args, access, idempotentCall(idempotency, info)),
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
