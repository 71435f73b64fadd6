import type { AgentRun } from '../merge-agent-run.js';
import { DEFAULT_MESSAGE_LIMIT, mergeAgentRunChange } from '../merge-agent-run.js';
import { AgentRunStream } from '../operations.js';
import type { StreamView } from './use-project-stream.js';
import { useProjectStream } from './use-project-stream.js';

export type { AgentRun } from '../merge-agent-run.js';

export interface AgentRunStreamOptions {
  /**
   * Messages kept per run, the latest ones. Older ones come from `AgentRunMessagesQuery`,
   * paging back from the lowest `index` held. At most 500. @default 50
   */
  messageLimit?: number;
}

/**
 * The project's agent runs (or one run), each with its summary, its steps in the order
 * they were first reported and its latest messages in the order they were appended, kept
 * current live. Events carry only what changed; they are merged into the snapshot's runs.
 */
export function useAgentRunStream(
  projectId: string,
  runId?: string,
  options: AgentRunStreamOptions = {},
): StreamView<AgentRun> & { runs: AgentRun[]; run?: AgentRun } {
  const { messageLimit = DEFAULT_MESSAGE_LIMIT } = options;
  const view = useProjectStream({
    projectId,
    id: runId,
    messageLimit,
    select: (snapshot) => snapshot.agentRuns,
    subscription: AgentRunStream,
    variables: (after) => ({ projectId, runId: runId ?? null, after: after || null }),
    changeOf: ({ agentRun: event }) => ({
      cursor: event.cursor,
      id: event.run.id,
      apply: (run: AgentRun | undefined) => mergeAgentRunChange(run, event, messageLimit),
    }),
  });
  return { ...view, runs: view.entities, run: runId === undefined ? undefined : view.entities[0] };
}
