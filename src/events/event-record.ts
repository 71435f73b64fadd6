import type { EventType } from '../generated/resolvers-types.js';
import type {
  AgentMessageRecord,
  AgentRunRecord,
  AgentStepRecord,
  IngestJobRecord,
  WorkflowNodeRecord,
  WorkflowRunRecord,
} from '../store/records.js';

/** The fields every event has; `seq` and `epoch` together form the cursor. */
interface EventRecordBase {
  projectId: string;
  /** Position in the project's log: 1 for the first event, then consecutive. */
  seq: number;
  /** Identifies one life of the project's log; a new epoch means the old positions are gone. */
  epoch: string;
  occurredAt: string;
}

export interface IngestJobEventRecord extends EventRecordBase {
  type: Extract<EventType, `INGEST_JOB_${string}`>;
  job: IngestJobRecord;
}

export interface AgentRunEventRecord extends EventRecordBase {
  type: Extract<EventType, `AGENT_${string}`>;
  /** The run's summary after the event. */
  run: AgentRunRecord;
  step?: AgentStepRecord | null;
  message?: AgentMessageRecord | null;
  messageDelta?: { messageId: string; offset: number; text: string } | null;
}

export interface WorkflowEventRecord extends EventRecordBase {
  type: Extract<EventType, `WORKFLOW_${string}`>;
  /** The run's summary after the event. */
  run: WorkflowRunRecord;
  nodeState?: WorkflowNodeRecord | null;
  /** Every node, on the event that started the run. */
  nodes?: WorkflowNodeRecord[] | null;
}

/**
 * What the log stores and the PubSub carries: an event with what changed and the summary
 * of the job or run it changed, never the entity's history.
 */
export type EventRecord = IngestJobEventRecord | AgentRunEventRecord | WorkflowEventRecord;

type WithoutPosition<T> = T extends unknown ? Omit<T, 'seq' | 'epoch'> : never;

/** An event before the log has given it a position. */
export type EventDraft = WithoutPosition<EventRecord>;

export type EventTypename = 'IngestJobEvent' | 'AgentRunEvent' | 'WorkflowEvent';

export function eventTypename(type: EventType): EventTypename {
  if (type.startsWith('INGEST_JOB_')) return 'IngestJobEvent';
  if (type.startsWith('AGENT_')) return 'AgentRunEvent';
  return 'WorkflowEvent';
}

export function isIngestJobEvent(event: EventRecord): event is IngestJobEventRecord {
  return event.type.startsWith('INGEST_JOB_');
}

export function isAgentRunEvent(event: EventRecord): event is AgentRunEventRecord {
  return event.type.startsWith('AGENT_');
}

export function isWorkflowEvent(event: EventRecord): event is WorkflowEventRecord {
  return event.type.startsWith('WORKFLOW_');
}

export interface LogPosition {
  epoch: string;
  seq: number;
}

const CURSOR_PATTERN = /^([A-Za-z0-9_-]{1,64}):(\d{1,15})$/;

/** Cursors read `<epoch>:<seq>`; clients must treat them as opaque. */
export function encodeCursor(position: LogPosition): string {
  return `${position.epoch}:${position.seq}`;
}

/** Returns `undefined` for anything that is not a cursor this server could have issued. */
export function decodeCursor(cursor: string): LogPosition | undefined {
  const match = CURSOR_PATTERN.exec(cursor);
  if (!match) return undefined;
  return { epoch: match[1]!, seq: Number(match[2]) };
}

/**
 * Every event type, in the schema's order. Written as an object keyed by `EventType` so that a
 * type added to the schema fails the type check until it is listed here too.
 */
const EVENT_TYPE_KEYS = {
  INGEST_JOB_CREATED: true,
  INGEST_JOB_UPDATED: true,
  INGEST_JOB_COMPLETED: true,
  INGEST_JOB_FAILED: true,
  AGENT_RUN_CREATED: true,
  AGENT_RUN_UPDATED: true,
  AGENT_RUN_COMPLETED: true,
  AGENT_RUN_FAILED: true,
  AGENT_STEP_UPDATED: true,
  AGENT_MESSAGE_APPENDED: true,
  AGENT_MESSAGE_DELTA: true,
  AGENT_MESSAGE_COMPLETED: true,
  WORKFLOW_NODE_STATE_UPDATED: true,
  WORKFLOW_RUN_UPDATED: true,
} as const satisfies Record<EventType, true>;

export const EVENT_TYPES: readonly EventType[] = Object.keys(EVENT_TYPE_KEYS) as EventType[];

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(EVENT_TYPE_KEYS, value);
}

/**
 * Checks a message that arrived from Redis before the core trusts it. Only the envelope is
 * checked: the entity inside was written by this server's own services.
 */
export function parseEventRecord(message: unknown): EventRecord {
  if (typeof message !== 'object' || message === null) throw new TypeError('event: expected an object');
  const record = message as Record<string, unknown>;
  if (typeof record.projectId !== 'string') throw new TypeError('event.projectId: expected a string');
  if (!Number.isSafeInteger(record.seq) || (record.seq as number) < 1) {
    throw new TypeError(`event.seq: expected a positive integer, got ${String(record.seq)}`);
  }
  if (typeof record.epoch !== 'string') throw new TypeError('event.epoch: expected a string');
  if (typeof record.type !== 'string' || !isEventType(record.type)) {
    throw new TypeError(`event.type: unknown type ${String(record.type)}`);
  }
  if (typeof record.occurredAt !== 'string') throw new TypeError('event.occurredAt: expected a string');
  const subject = record.type.startsWith('INGEST_JOB_') ? record.job : record.run;
  if (typeof subject !== 'object' || subject === null) throw new TypeError(`event: ${record.type} without its subject`);
  return message as EventRecord;
}
