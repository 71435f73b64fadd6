import type { AgentRun, IngestJob, WorkflowRun } from '../generated/resolvers-types.js';
import type { EventDraft, EventRecord, LogPosition } from '../events/event-record.js';

/** The stored entities, by kind. */
export interface Entities {
  ingestJob: IngestJob;
  agentRun: AgentRun;
  workflowRun: WorkflowRun;
}

export type EntityKind = keyof Entities;

export interface Versioned<T> {
  value: T;
  /** Increases by one with every committed change; 0 means "does not exist yet". */
  version: number;
}

/** One accepted change: the entity's new state and the events it produced. */
export interface Change<K extends EntityKind> {
  kind: K;
  id: string;
  projectId: string;
  /** The version the change was decided on; the commit fails if the entity moved on. */
  expectedVersion: number;
  value: Entities[K];
  events: EventDraft[];
}

/** Another writer changed the entity between read and commit. */
export class VersionConflictError extends Error {
  override readonly name = 'VersionConflictError';
}

/** How much of each project's event log is kept. */
export interface LogRetention {
  /** Events kept per project; 0 for no count limit. @default 10000 */
  maxEvents: number;
  /** Age in milliseconds after which an event is dropped; 0 for no age limit. @default 86400000 */
  maxAgeMs: number;
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
}

/** A project's entities together with the log position they correspond to. */
export interface ProjectSnapshot {
  position: LogPosition;
  ingestJobs: IngestJob[];
  agentRuns: AgentRun[];
  workflowRuns: WorkflowRun[];
}

/**
 * Where the state of jobs, runs and workflows lives, together with each project's ordered
 * event log, so that a state change and its events are stored in one atomic step.
 */
export interface StateStore {
  get<K extends EntityKind>(kind: K, id: string): Promise<Versioned<Entities[K]> | undefined>;
  /** A project's entities of one kind, in creation order. */
  list<K extends EntityKind>(kind: K, projectId: string): Promise<Array<Entities[K]>>;
  /**
   * Stores the new state and appends its events to the project's log at consecutive
   * positions, atomically. Throws `VersionConflictError` when `expectedVersion` is stale.
   */
  commit<K extends EntityKind>(change: Change<K>): Promise<EventRecord[]>;
  /** Where the project's log stands; starts the project's epoch if it has none yet. */
  head(projectId: string): Promise<LogPosition>;
  /** Up to `limit` retained events after `afterSeq`. */
  readLog(projectId: string, afterSeq: number, limit: number): Promise<LogPage>;
  /** Every entity of the project and the log position it reflects, read in one step. */
  snapshot(projectId: string): Promise<ProjectSnapshot>;
}
