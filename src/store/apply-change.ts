import { DomainError } from '../errors.js';
import type { EventDraft, EventRecord } from '../events/event-record.js';
import type { EntityKind, Entities, StateStore, Versioned } from './state-store.js';
import { VersionConflictError } from './state-store.js';

/** What a service decided: the entity's next state and the events that say so. */
export interface Decision<K extends EntityKind> {
  projectId: string;
  value: Entities[K];
  events: EventDraft[];
}

export interface ChangeDependencies {
  store: StateStore;
  /** Hands committed events to the live fan-out. */
  publish(events: EventRecord[]): Promise<void>;
}

const MAX_ATTEMPTS = 8;

/**
 * Reads an entity, lets `decide` validate and compute the change (it throws to reject),
 * commits state and events atomically, then publishes the events. A concurrent writer
 * makes the commit fail; the change is then decided again on fresh state.
 *
 * @returns the committed state
 */
export async function applyChange<K extends EntityKind>(
  dependencies: ChangeDependencies,
  kind: K,
  id: string,
  decide: (current: Versioned<Entities[K]> | undefined) => Decision<K>,
): Promise<Entities[K]> {
  for (let attempt = 1; ; attempt++) {
    const current = await dependencies.store.get(kind, id);
    const decision = decide(current);
    let events: EventRecord[];
    try {
      events = await dependencies.store.commit({
        kind,
        id,
        projectId: decision.projectId,
        expectedVersion: current?.version ?? 0,
        value: decision.value,
        events: decision.events,
      });
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      if (attempt === MAX_ATTEMPTS) {
        throw new DomainError('CONFLICT', `${kind} "${id}" is being changed by others too often; try again`);
      }
      continue;
    }
    await dependencies.publish(events);
    return decision.value;
  }
}
