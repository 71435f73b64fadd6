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
 * Applies one event to the entity it names: `change` gets the entity as the view holds it
 * (or `undefined`) and returns its new state, or `undefined` when the event alone cannot
 * tell the view what the entity is (a delta for an entity the view does not hold).
 *
 * @remarks
 * An event at or before the view's cursor is one the view already reflects (a snapshot that
 * included it, a replay after reconnect) and changes nothing, so merging is idempotent.
 * Any later event moves the cursor, whether or not it changed an entity in view.
 */
export function applyChange<T extends { id: string }>(
  state: EntityState<T>,
  cursor: string,
  id: string,
  change: (current: T | undefined) => T | undefined,
  limit = DEFAULT_ENTITY_LIMIT,
): EntityState<T> {
  if (!isAfter(cursor, state.cursor)) return state;
  const next = change(state.byId.get(id));
  if (next === undefined) return { cursor, byId: state.byId };
  const byId = new Map(state.byId);
  byId.set(id, next);
  return { cursor, byId: bounded(byId, limit) };
}

/** Applies one event carrying an entity's whole new state (an ingest job's events do). */
export function applyEvent<T extends { id: string }>(
  state: EntityState<T>,
  cursor: string,
  entity: T,
  limit = DEFAULT_ENTITY_LIMIT,
): EntityState<T> {
  return applyChange(state, cursor, entity.id, () => entity, limit);
}

/** Whichever of two views of the same stream is further along. */
export function newer<T extends { id: string }>(a: EntityState<T>, b: EntityState<T> | undefined): EntityState<T> {
  return b && b.cursor !== undefined && !isAfter(a.cursor ?? '', b.cursor) ? b : a;
}

/**
 * `items` with each of `changes` put in place of the item with the same key, and the ones
 * with a new key appended in the order given: the order of first appearance is kept.
 */
export function upsertBy<T, K extends keyof T>(items: readonly T[], changes: readonly T[], key: K): T[] {
  const next = [...items];
  for (const change of changes) {
    const position = next.findIndex((item) => item[key] === change[key]);
    if (position === -1) next.push(change);
    else next[position] = change;
  }
  return next;
}
