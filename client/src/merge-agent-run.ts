import type {
  AgentMessageFieldsFragment,
  AgentRunFieldsFragment,
  AgentRunStreamSubscription,
  AgentRunSummaryFieldsFragment,
} from './generated/graphql.js';
import { upsertBy } from './merge.js';

/**
 * An agent run as a view holds it: the summary of the last event applied, every step, and
 * the latest messages (at most the view's message limit), in the shape `AgentRunFields`
 * selects, so a view and a query of the run compare equal.
 */
export type AgentRun = AgentRunSummaryFieldsFragment & Pick<AgentRunFieldsFragment, 'steps' | 'messages'>;

/** What an `AgentRunStream` event carries. */
export type AgentRunChange = Pick<AgentRunStreamSubscription['agentRun'], 'run' | 'step' | 'message'>;

/** Messages a view keeps per run, the latest ones; also what the snapshot asks for. @default 50 */
export const DEFAULT_MESSAGE_LIMIT = 50;

/**
 * `messages` (ordered by index) with `message` in its place: a message already held at that
 * index is replaced, so a message seen both in the snapshot and on the stream is held once.
 * Only the latest `limit` are kept.
 */
export function insertMessage<M extends Pick<AgentMessageFieldsFragment, 'index'>>(
  messages: readonly M[],
  message: M,
  limit = DEFAULT_MESSAGE_LIMIT,
): M[] {
  const next = [...messages];
  // Messages arrive in index order, so the place is nearly always the end: search from there.
  let position = next.length;
  while (position > 0 && next[position - 1]!.index >= message.index) position--;
  if (next[position]?.index === message.index) next[position] = message;
  else next.splice(position, 0, message);
  return next.slice(Math.max(0, next.length - limit));
}

/**
 * A run after one event of its stream: the summary replaced by the event's, the step
 * upserted by id (a new step goes last: steps are in the order first reported), the message
 * inserted by index. Applying an event the run already reflects leaves steps and messages
 * as they are, which is what makes a snapshot that read some later changes merge exactly.
 *
 * @returns `undefined` for a run the view does not hold when the event does not show all of
 *   it (a step of a run with earlier steps): the view would otherwise show a partial run.
 */
export function mergeAgentRunChange(
  run: AgentRun | undefined,
  change: AgentRunChange,
  messageLimit = DEFAULT_MESSAGE_LIMIT,
): AgentRun | undefined {
  const steps = upsertBy(run?.steps ?? [], change.step ? [change.step] : [], 'id');
  const messages = change.message ? insertMessage(run?.messages ?? [], change.message, messageLimit) : (run?.messages ?? []);
  if (!run) {
    const summary = change.run;
    const complete = steps.length === summary.stepCount && messages.length === Math.min(summary.messageCount, messageLimit);
    if (!complete) return undefined;
  }
  return { ...change.run, steps, messages };
}
