import { setTimeout as sleep } from 'node:timers/promises';
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

export interface ChangeApplier {
  /**
   * Reads an entity, lets `decide` validate and compute the change (it throws to reject),
   * commits state and events atomically, then publishes the events.
   *
   * @returns the committed state
   */
  apply<K extends EntityKind>(
    kind: K,
    id: string,
    decide: (current: Versioned<Entities[K]> | undefined) => Decision<K>,
  ): Promise<Entities[K]>;
}

/** Beyond this many lost races with other instances the caller is told to try again. */
const MAX_ATTEMPTS = 25;

/**
 * Changes to one entity are applied one after another within this process, so version
 * conflicts only happen between instances; those are retried on fresh state after a short
 * random pause that spreads the competing writers apart.
 */
export function createChangeApplier(dependencies: {
  store: StateStore;
  /** Hands committed events to the live fan-out. */
  publish(events: EventRecord[]): Promise<void>;
}): ChangeApplier {
  const { store, publish } = dependencies;
  const queues = new Map<string, Promise<unknown>>();

  function serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = queues.get(key);
    const result = previous ? previous.then(task, task) : task();
    const tail = result.catch(() => {});
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return result;
  }

  return {
    apply(kind, id, decide) {
      return serialize(`${kind}:${id}`, async () => {
        for (let attempt = 1; ; attempt++) {
          const current = await store.get(kind, id);
          const decision = decide(current);
          let events: EventRecord[];
          try {
            events = await store.commit({
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
            await sleep(Math.random() * Math.min(attempt, 10));
            continue;
          }
          await publish(events);
          return decision.value;
        }
      });
    },
  };
}
