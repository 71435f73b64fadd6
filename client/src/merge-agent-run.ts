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
export type AgentRunChange = Pick<AgentRunStreamSubscription['agentRun'], 'run' | 'step' | 'message' | 'messageDelta'>;

/** Text added to a streaming message, at `offset` (UTF-16 code units) of its content. */
export type AgentMessageDelta = NonNullable<AgentRunChange['messageDelta']>;

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
 * `content` with `delta` applied where it starts: the part of the delta's text past the end
 * of `content` is appended, so a delta already held (wholly or in part) adds nothing twice.
 *
 * @returns `content` itself when the delta adds nothing, and `undefined` when the delta
 *   starts past its end: a delta before it was missed, and appending would leave a hole.
 */
export function extendContent(content: string, delta: Pick<AgentMessageDelta, 'offset' | 'text'>): string | undefined {
  const { offset, text } = delta;
  if (offset > content.length) return undefined;
  if (offset + text.length <= content.length) return content;
  return content + text.slice(content.length - offset);
}

/**
 * Whether `change` is a delta that starts past the end of the text the view holds for a
 * streaming message: the view missed earlier text of it, which later deltas cannot supply.
 * `mergeAgentRunChange` leaves such a message as it is (its text is still right as far as it
 * goes); the view needs a fresh snapshot to go on (see `applyChange`'s `missed`).
 */
export function missesDelta(run: AgentRun | undefined, change: AgentRunChange): boolean {
  const delta = change.messageDelta;
  const held = delta ? run?.messages.find((message) => message.id === delta.messageId) : undefined;
  return held !== undefined && held.status === 'STREAMING' && extendContent(held.content, delta!) === undefined;
}

/**
 * `messages` after one message event: a message event replaces the message of its index,
 * except that a STREAMING one (its start) leaves a message the view already holds by id as
 * it is, since the held one can only be further along (a snapshot read later, with text and
 * perhaps its completion). A delta extends the STREAMING message it names by offset; one for
 * a message the view does not hold (older than its window) or holds COMPLETE changes nothing.
 */
function mergeMessages(
  messages: AgentRun['messages'],
  change: AgentRunChange,
  messageLimit: number,
): AgentRun['messages'] {
  const { message, messageDelta: delta } = change;
  if (delta) {
    const position = messages.findIndex((held) => held.id === delta.messageId);
    const held = messages[position];
    if (!held || held.status !== 'STREAMING') return messages;
    const content = extendContent(held.content, delta);
    if (content === undefined || content === held.content) return messages;
    const next = [...messages];
    next[position] = { ...held, content };
    return next;
  }
  if (!message) return messages;
  if (message.status === 'STREAMING' && messages.some((held) => held.id === message.id)) return messages;
  return insertMessage(messages, message, messageLimit);
}

/**
 * A run after one event of its stream: the summary replaced by the event's, the step
 * upserted by id (a new step goes last: steps are in the order first reported), the message
 * inserted by index or a streaming message's text extended by a delta (`mergeMessages`).
 * Applying an event the run already reflects leaves steps and messages as they are, which
 * is what makes a snapshot that read some later changes merge exactly.
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
  const messages = mergeMessages(run?.messages ?? [], change, messageLimit);
  if (!run) {
    const summary = change.run;
    const complete = steps.length === summary.stepCount && messages.length === Math.min(summary.messageCount, messageLimit);
    if (!complete) return undefined;
  }
  return { ...change.run, steps, messages };
}
