import { isAfter } from './cursor.js';

/**
 * A live view of entities (jobs, runs): the latest state of each, keyed by id, and the
 * cursor of the last event applied. Not an event list: memory stays proportional to the
 * entities shown, however long the stream runs.
 */
export interface EntityState<T extends { id: string }> {
  cursor: string | undefined;
  byId: ReadonlyMap<string, T>;
  /**
   * Set when an event showed that the view missed a change events cannot rebuild (a
   * streamed message's delta starting past the end of the text held): the cursor of that
   * event. The entities stay right as far as they go, and later events still apply; a
   * snapshot at or after this cursor replaces the view (see `newer`).
   */
  staleAt?: string;
  /**
   * Entities the view has let go to stay within its limit (the oldest first): with
   * `byId.size` it says how many the view has seen, so a full view can read "latest 200 of 1,342".
   */
  dropped?: number;
}

/** The most entities a view keeps; the oldest are dropped first. @default 200 */
export const DEFAULT_ENTITY_LIMIT = 200;

/** Drops the oldest entities past `limit`; returns how many went. */
function bound<T extends { id: string }>(byId: Map<string, T>, limit: number): number {
  let dropped = 0;
  for (const id of byId.keys()) {
    if (byId.size <= limit) break;
    byId.delete(id);
    dropped++;
  }
  return dropped;
}

export function fromSnapshot<T extends { id: string }>(
  entities: readonly T[],
  cursor: string,
  limit = DEFAULT_ENTITY_LIMIT,
): EntityState<T> {
  const byId = new Map(entities.map((entity) => [entity.id, entity]));
  const dropped = bound(byId, limit);
  return dropped ? { cursor, byId, dropped } : { cursor, byId };
}

/**
 * Applies one event to the entity it names: `change` gets the entity as the view holds it
 * (or `undefined`) and returns its new state, or `undefined` when the event alone cannot
 * tell the view what the entity is (a delta for an entity the view does not hold).
 * `missed`, when given, tells from the entity as held whether the event shows that the view
 * missed an earlier change to it; the view is then marked `staleAt` this event.
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
  missed?: (current: T | undefined) => boolean,
): EntityState<T> {
  if (!isAfter(cursor, state.cursor)) return state;
  const current = state.byId.get(id);
  const staleAt = state.staleAt ?? (missed?.(current) ? cursor : undefined);
  const next = change(current);
  let byId = state.byId;
  let dropped = state.dropped ?? 0;
  if (next !== undefined) {
    const changed = new Map(state.byId);
    changed.set(id, next);
    dropped += bound(changed, limit);
    byId = changed;
  }
  return { cursor, byId, ...(staleAt === undefined ? {} : { staleAt }), ...(dropped ? { dropped } : {}) };
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

/**
 * Whichever of two views of the same stream is further along: `b` (the streamed one) unless
 * `a` (a snapshot) is later, or `b` is stale and `a` was read at or after the event that made
 * it so (a snapshot loaded to replace it).
 */
export function newer<T extends { id: string }>(a: EntityState<T>, b: EntityState<T> | undefined): EntityState<T> {
  if (!b || b.cursor === undefined) return a;
  if (b.staleAt !== undefined && a.cursor !== undefined && !isAfter(b.staleAt, a.cursor)) return a;
  return !isAfter(a.cursor ?? '', b.cursor) ? b : a;
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
