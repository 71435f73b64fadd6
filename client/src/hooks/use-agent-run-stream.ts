import type { AgentRunFieldsFragment } from '../generated/graphql.js';
import { AgentRunStream } from '../operations.js';
import type { StreamView } from './use-project-stream.js';
import { useProjectStream } from './use-project-stream.js';

export type AgentRun = AgentRunFieldsFragment;

/**
 * The project's agent runs (or one run), each with its steps and its messages in the order
 * they were appended, kept current live.
 */
export function useAgentRunStream(projectId: string, runId?: string): StreamView<AgentRun> & { runs: AgentRun[]; run?: AgentRun } {
  const view = useProjectStream({
    projectId,
    id: runId,
    select: (snapshot) => snapshot.agentRuns,
    subscription: AgentRunStream,
    variables: (after) => ({ projectId, runId: runId ?? null, after: after || null }),
    eventOf: (data) => ({ cursor: data.agentRun.cursor, entity: data.agentRun.run }),
  });
  return { ...view, runs: view.entities, run: runId === undefined ? undefined : view.entities[0] };
}
