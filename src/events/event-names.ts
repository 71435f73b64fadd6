import type { EventType } from '../generated/resolvers-types.js';
import { EVENT_TYPES } from './event-record.js';

/**
 * The dotted name of an event type, as streams for clients without GraphQL name it: the
 * domain, the thing that changed, and what happened to it. `INGEST_JOB_CREATED` is
 * `ingest.job.created`, `WORKFLOW_NODE_STATE_UPDATED` is `workflow.node_state.updated`,
 * `AGENT_MESSAGE_DELTA` is `agent.message.delta`.
 */
export function dottedEventName(type: EventType): string {
  const words = type.toLowerCase().split('_');
  const domain = words.shift()!;
  const happened = words.pop()!;
  return `${domain}.${words.join('_')}.${happened}`;
}

const BY_DOTTED_NAME: ReadonlyMap<string, EventType> = new Map(EVENT_TYPES.map((type) => [dottedEventName(type), type]));

/** The event type a dotted name stands for; undefined for a name that is not one. */
export function eventTypeOfDottedName(name: string): EventType | undefined {
  return BY_DOTTED_NAME.get(name);
}

/** Every dotted name, in the schema's order, for error messages. */
export const DOTTED_EVENT_NAMES: readonly string[] = [...BY_DOTTED_NAME.keys()];
