import type { AgentRun } from '../merge-agent-run.js';
import { DEFAULT_MESSAGE_LIMIT, mergeAgentRunChange, missesDelta } from '../merge-agent-run.js';
import { AgentRunStream } from '../operations.js';
import type { StreamView } from './use-project-stream.js';
import { useProjectStream } from './use-project-stream.js';

export type { AgentRun } from '../merge-agent-run.js';

export interface AgentRunStreamOptions {
  /** Narrows the view to one run. */
  runId?: string;
  /**
   * Messages kept per run, the latest ones. Older ones come from `AgentRunMessagesQuery`,
   * paging back from the lowest `index` held. At most 500. @default 50
   */
  messageLimit?: number;
}

export type AgentRunStreamView = StreamView<AgentRun> & { runs: AgentRun[]; run?: AgentRun };

/**
 * The project's agent runs (or one run), each with its summary, its steps in the order
 * they were first reported and its latest messages in the order they were appended, kept
 * current live. Events carry only what changed; they are merged into the snapshot's runs.
 *
 * @example
 * const { runs } = useAgentRunStream('demo', { messageLimit: 20 });
 * const { run } = useAgentRunStream('demo', runId);
 *
 * @remarks
 * A streamed message is held with `status: 'STREAMING'` and the text so far as `content`,
 * which grows with each delta until the message turns `'COMPLETE'` with its whole text. A
 * delta that starts past the end of the text held (one was missed) is not applied; the
 * snapshot is loaded again instead, so the text shown is never wrong, only briefly behind.
 */
export function useAgentRunStream(projectId: string, options?: AgentRunStreamOptions): AgentRunStreamView;
export function useAgentRunStream(projectId: string, runId: string | undefined, options?: AgentRunStreamOptions): AgentRunStreamView;
export function useAgentRunStream(
  projectId: string,
  runIdOrOptions?: string | AgentRunStreamOptions,
  moreOptions: AgentRunStreamOptions = {},
): AgentRunStreamView {
  const options = typeof runIdOrOptions === 'object' ? runIdOrOptions : { ...moreOptions, runId: runIdOrOptions ?? moreOptions.runId };
  const { runId, messageLimit = DEFAULT_MESSAGE_LIMIT } = options;
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
      missed: (run: AgentRun | undefined) => missesDelta(run, event),
    }),
  });
  return { ...view, runs: view.entities, run: runId === undefined ? undefined : view.entities[0] };
}
