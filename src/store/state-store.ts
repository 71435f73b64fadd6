import type { EventDraft, EventRecord, LogPosition } from '../events/event-record.js';
import type {
  AgentMessageRecord,
  AgentRunRecord,
  AgentStepRecord,
  IngestJobRecord,
  WorkflowNodeRecord,
  WorkflowRunRecord,
} from './records.js';

/** The stored entities, by kind: each one small, whatever its history. */
export interface Entities {
  ingestJob: IngestJobRecord;
  agentRun: AgentRunRecord;
  workflowRun: WorkflowRunRecord;
}

export type EntityKind = keyof Entities;

/**
 * Collections stored beside an entity, each member written on its own. Keyed ones hold one
 * member per key (a step per step id, a node per node id), replaced in place; appended ones
 * only grow, and their items are read by position.
 */
export interface KeyedCollections {
  steps: AgentStepRecord;
  nodes: WorkflowNodeRecord;
  /** Where each message of a run is, by message id. */
  messageIds: { index: number };
}
export interface AppendedCollections {
  messages: AgentMessageRecord;
}
export type KeyedCollection = keyof KeyedCollections;
export type AppendedCollection = keyof AppendedCollections;

/** Which entity kind owns each collection; removing an entity removes these with it. */
export const COLLECTIONS_OF: { readonly [K in EntityKind]: ReadonlyArray<KeyedCollection | AppendedCollection> } = {
  ingestJob: [],
  agentRun: ['steps', 'messages', 'messageIds'],
  workflowRun: ['nodes'],
};

/**
 * A message whose content is being streamed: the text stored so far, and how much of it
 * has gone out as delta events.
 */
export interface StreamState {
  messageId: string;
  /** The message as started, with its content so far. */
  message: AgentMessageRecord;
  /** UTF-16 code units of the content already sent in delta events. */
  emitted: number;
}

/**
 * How long past its batching window a flush may be late before a later append takes it
 * over, in case the instance that was to flush went away.
 */
export const FLUSH_GRACE_MS = 1000;

/** What storing a piece of streamed text came to. */
export type ContentAppend =
  | {
      /** `replayed`: the piece was stored before (a retry), and nothing changed now. */
      outcome: 'appended' | 'replayed';
      /** Where the text starts in the content, in UTF-16 code units. */
      offset: number;
      /** The message without its content. */
      message: Omit<AgentMessageRecord, 'content'>;
      /**
       * The delta that sent the message's pending text in the same step (its last delta was a
       * window old or more, or the window is 0): logged and published already.
       */
      event?: EventRecord;
      /** Set when this caller is the one to flush the pending text: in how many ms its window ends. */
      flushInMs?: number;
    }
  | { outcome: 'run-missing' | 'run-finished' | 'message-missing' | 'message-complete' | 'key-reused' }
  /** `length`: the content's length in UTF-16 code units, where the next piece must start. */
  | { outcome: 'too-long' | 'offset-mismatch'; length: number };

/** Every fingerprint has this many characters, so a record splits without a separator. */
export const IDEMPOTENCY_FINGERPRINT_LENGTH = 22;

/**
 * The record that makes a change happen once: checked and written in the same atomic step
 * as the change, under `key` within the change's project, and kept for `windowMs`.
 */
export interface IdempotencyRecord {
  /** Who asked (a hash of the subject), for which field of the request, with which key. */
  key: string;
  /**
   * Of the request's document and variables (`IDEMPOTENCY_FINGERPRINT_LENGTH` characters):
   * the same key with other input is refused.
   */
  fingerprint: string;
  windowMs: number;
}

/** What the first request with a key was answered, as recorded. */
export interface RecordedAnswer {
  fingerprint: string;
  /** The answer's JSON. */
  answer: string;
}

/**
 * The change's idempotency key was recorded before with the same input: nothing was
 * changed now, and `answer` is what the first request was answered.
 */
export class IdempotentReplay extends Error {
  override readonly name = 'IdempotentReplay';

  constructor(readonly answer: string) {
    super('this change was applied before under the same idempotency key');
  }
}

/** The idempotency key was recorded before with other input; nothing was changed. */
export class IdempotencyKeyReused extends Error {
  override readonly name = 'IdempotencyKeyReused';
}

export interface Versioned<T> {
  value: T;
  /** Increases by one with every committed change; 0 means "does not exist yet". */
  version: number;
}

/** A member written into one of the entity's keyed collections, under its key. */
export interface PutMember {
  collection: KeyedCollection;
  key: string;
  value: KeyedCollections[KeyedCollection];
}

/** An item appended to one of the entity's appended collections. */
export interface AppendItem {
  collection: AppendedCollection;
  value: AppendedCollections[AppendedCollection];
}

/** One accepted change: the entity's new summary, what changed beside it, and its events. */
export interface Change<K extends EntityKind> {
  kind: K;
  id: string;
  projectId: string;
  /** The version the change was decided on; the commit fails if the entity moved on. */
  expectedVersion: number;
  value: Entities[K];
  /** Members of keyed collections written by this change. */
  put?: readonly PutMember[];
  /** Items appended by this change. */
  append?: readonly AppendItem[];
  /**
   * The entity reached a final state: it and its collections leave the store once the
   * finished-entity retention has passed, and no more text can be streamed into it.
   */
  finished?: boolean;
  /** A streaming message this change starts (its item is appended as usual). */
  openStream?: { messageId: string; message: AgentMessageRecord };
  /**
   * Streaming messages this change completes, as `streamOf` read them: each stored item
   * becomes `message`. The commit fails as a version conflict if more text was stored or a
   * delta was emitted since they were read.
   */
  completeStreams?: ReadonlyArray<{ stream: StreamState; message: AgentMessageRecord; messageCount: number }>;
  events: EventDraft[];
  /**
   * Makes the change happen once per key: if the key is recorded, nothing is written and the
   * commit throws `IdempotentReplay` (same fingerprint) or `IdempotencyKeyReused` (another);
   * otherwise the key is recorded with `answer` (JSON; without one, the answer is `value`)
   * in the same step as the change.
   */
  idempotency?: IdempotencyRecord & { answer?: string };
  /**
   * Commit only if the entity saw no change after this time (ms): the commit throws
   * `EntityNotIdle` otherwise. For failing work whose producer vanished, never one alive.
   */
  ifIdleSince?: number;
}

/** An entity of the project's open work, in the project's active set. */
export interface ActiveEntity {
  kind: EntityKind;
  id: string;
}

/** A commit made `ifIdleSince` found the entity changed since. */
export class EntityNotIdle extends Error {
  override readonly name = 'EntityNotIdle';
}

/** A page of items whose stored JSON is larger than the bytes its reader may take; nothing of it was read. */
export class PageTooLarge extends Error {
  override readonly name = 'PageTooLarge';
}

/** Another writer changed the entity between read and commit. */
export class VersionConflictError extends Error {
  override readonly name = 'VersionConflictError';
}

/** How long events and finished entities are kept. */
export interface Retention {
  /** Events kept per project; 0 for no count limit. @default 10000 */
  maxEvents: number;
  /** Age in milliseconds after which an event is dropped; 0 for no age limit. @default 86400000 */
  maxAgeMs: number;
  /**
   * Time in milliseconds a finished job or run (with its steps, messages and nodes) stays
   * after it finished; 0 keeps it for good. @default 86400000
   */
  finishedMs: number;
}

/** Events read from a log per round trip, so a long catch-up is never one huge reply. */
export const LOG_PAGE_SIZE = 500;

/** A slice of a project's log. */
export interface LogPage {
  epoch: string;
  /** Position of the latest event; 0 before the first. */
  headSeq: number;
  /** Position of the oldest event still retained; `headSeq + 1` when none is. */
  firstSeq: number;
  /** Retained events after the requested position, oldest first. */
  events: EventRecord[];
  /** About the bytes of each event's JSON as stored (UTF-16 code units), where the store knows them. */
  sizes?: number[];
}

/** A project's entities together with the log position they correspond to. */
export interface ProjectSnapshot {
  position: LogPosition;
  ingestJobs: IngestJobRecord[];
  agentRuns: AgentRunRecord[];
  workflowRuns: WorkflowRunRecord[];
}

/**
 * Where the state of jobs, runs and workflows lives, together with each project's ordered
 * event log, so that a state change and its events are stored in one atomic step. Every
 * write costs what changed: an entity's summary is small, and its collections are written
 * one member or item at a time.
 */
export interface StateStore {
  get<K extends EntityKind>(kind: K, id: string): Promise<Versioned<Entities[K]> | undefined>;
  /** A project's entities of one kind, in creation order. */
  list<K extends EntityKind>(kind: K, projectId: string): Promise<Array<Entities[K]>>;
  /**
   * Members of an entity's keyed collection in the order first written: all of them, or
   * those with the given keys (missing ones left out).
   */
  members<C extends KeyedCollection>(collection: C, id: string, keys?: readonly string[]): Promise<Array<KeyedCollections[C]>>;
  /**
   * Items `start` (inclusive) to `end` (exclusive) of an entity's appended collection. With
   * `maxBytes`, a page whose stored JSON (content included) is larger is not read: it throws
   * `PageTooLarge`, so a page that could never be answered costs its size only in the store.
   */
  items<C extends AppendedCollection>(
    collection: C,
    id: string,
    start: number,
    end: number,
    maxBytes?: number,
  ): Promise<Array<AppendedCollections[C]>>;
  /**
   * Stores the new state and appends its events to the project's log at consecutive
   * positions, atomically, publishing each on the project's channel as it is logged.
   * Throws `VersionConflictError` when `expectedVersion` is stale.
   */
  commit<K extends EntityKind>(change: Change<K>): Promise<EventRecord[]>;
  /** The answer recorded under an idempotency key of the project, while its window lasts. */
  recall(projectId: string, key: string): Promise<RecordedAnswer | undefined>;
  /**
   * Drops the expired idempotency records of projects that stopped writing (the commits of
   * a project drop its own); resolves with how many projects it looked at. Absent where
   * records leave by themselves.
   */
  pruneRecords?(): Promise<number>;
  /**
   * With activity tracked (`trackActivity`): the projects that may have open work, and per
   * project the open entities whose last change (a commit, or a piece of streamed text) is
   * at or before `sinceMs`, at most `limit`.
   */
  activeProjects(): Promise<string[]>;
  idleEntities(projectId: string, sinceMs: number, limit: number): Promise<ActiveEntity[]>;
  /** Takes an entity out of its project's active set (it finished, or is gone). */
  forgetActive(projectId: string, entity: ActiveEntity): Promise<void>;
  /** Forgets a project with no open work that has not been written to since `beforeMs`. */
  forgetIfInactive(projectId: string, beforeMs: number): Promise<void>;
  /**
   * Stores text at the end of a streaming message's content, in place: the run's summary
   * and version are not touched. At most `maxLength` code units in all. Where the message's
   * last delta is `windowMs` old or more (or `windowMs` is 0) the pending text goes out as an
   * AGENT_MESSAGE_DELTA event in the same atomic step (as `flushContent` sends it, with
   * `occurredAt`); otherwise the first caller after the last delta is told to flush when the
   * window ends (`flushInMs`).
   *
   * With `offset` (UTF-16 code units) the text is stored only there: at the content's end
   * it is appended; where the content already holds exactly this text it is a retry
   * (`replayed`, nothing changes); anywhere else `offset-mismatch`. With `idempotency` the
   * key is checked and recorded in the same step as the text (`projectId` names the slot).
   */
  appendContent(
    runId: string,
    messageId: string,
    text: string,
    options: {
      /** The run's project: its slot holds the key and the activity. */
      projectId: string;
      maxLength: number;
      /** The batching window of the message's deltas (ms). */
      windowMs: number;
      /** When a delta sent now occurred. */
      occurredAt: string;
      offset?: number;
      idempotency?: IdempotencyRecord;
    },
  ): Promise<ContentAppend>;
  /**
   * Appends the text stored since the message's last delta event to the project's log as one
   * AGENT_MESSAGE_DELTA event (carrying the run's summary) and publishes it, in one atomic
   * step; undefined when nothing is pending or the message is no longer streaming.
   */
  flushContent(runId: string, messageId: string, event: { projectId: string; occurredAt: string }): Promise<EventRecord | undefined>;
  /** The run's messages still streaming, with their content so far (all, or the one asked for). */
  streams(runId: string, messageId?: string): Promise<StreamState[]>;
  /** Where the project's log stands; starts the project's epoch if it has none yet. */
  head(projectId: string): Promise<LogPosition>;
  /**
   * Up to `limit` retained events after `afterSeq`. With `maxBytes` the page ends once its
   * events hold about that many bytes (one event at least), and says each one's size: a
   * reader of large events then holds, and makes the store copy, one such page at a time.
   */
  readLog(projectId: string, afterSeq: number, limit: number, maxBytes?: number): Promise<LogPage>;
  /**
   * About the bytes of the JSON of up to `count` retained events after `afterSeq`, known
   * without reading them; undefined where the store cannot tell.
   */
  logBytes(projectId: string, afterSeq: number, count: number): Promise<number | undefined>;
  /** Every entity of the project and the log position it reflects, read in one step. */
  snapshot(projectId: string): Promise<ProjectSnapshot>;
}
