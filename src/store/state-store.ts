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

/**
 * Where the state of jobs, runs and workflows lives, together with each project's event
 * positions, so that a state change and its events are stored in one atomic step.
 */
export interface StateStore {
  get<K extends EntityKind>(kind: K, id: string): Promise<Versioned<Entities[K]> | undefined>;
  /** A project's entities of one kind, in creation order. */
  list<K extends EntityKind>(kind: K, projectId: string): Promise<Array<Entities[K]>>;
  /**
   * Stores the new state and gives its events consecutive positions in the project's log,
   * atomically. Throws `VersionConflictError` when `expectedVersion` is stale.
   */
  commit<K extends EntityKind>(change: Change<K>): Promise<EventRecord[]>;
  /** The position of the project's latest event; `undefined` before its first. */
  head(projectId: string): Promise<LogPosition | undefined>;
}
