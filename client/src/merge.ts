import { isAfter } from './cursor.js';

/**
 * A live view of entities (jobs, runs): the latest state of each, keyed by id, and the
 * cursor of the last event applied. Not an event list: memory stays proportional to the
 * entities shown, however long the stream runs.
 */
export interface EntityState<T extends { id: string }> {
  cursor: string | undefined;
  byId: ReadonlyMap<string, T>;
}

/** The most entities a view keeps; the oldest are dropped first. @default 200 */
export const DEFAULT_ENTITY_LIMIT = 200;

function bounded<T extends { id: string }>(byId: Map<string, T>, limit: number): Map<string, T> {
  for (const id of byId.keys()) {
    if (byId.size <= limit) break;
    byId.delete(id);
  }
  return byId;
}

export function fromSnapshot<T extends { id: string }>(
  entities: readonly T[],
  cursor: string,
  limit = DEFAULT_ENTITY_LIMIT,
): EntityState<T> {
  return { cursor, byId: bounded(new Map(entities.map((entity) => [entity.id, entity])), limit) };
}

/**
 * Applies one event carrying an entity's new state. An event at or before the view's cursor
 * is one it already reflects (a snapshot that included it, a replay after reconnect) and
 * changes nothing, so merging is idempotent.
 */
export function applyEvent<T extends { id: string }>(
  state: EntityState<T>,
  cursor: string,
  entity: T,
  limit = DEFAULT_ENTITY_LIMIT,
): EntityState<T> {
  if (!isAfter(cursor, state.cursor)) return state;
  const byId = new Map(state.byId);
  byId.set(entity.id, entity);
  return { cursor, byId: bounded(byId, limit) };
}

/** Whichever of two views of the same stream is further along. */
export function newer<T extends { id: string }>(a: EntityState<T>, b: EntityState<T> | undefined): EntityState<T> {
  return b && b.cursor !== undefined && !isAfter(a.cursor ?? '', b.cursor) ? b : a;
}
