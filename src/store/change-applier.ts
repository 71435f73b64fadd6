import { setTimeout as sleep } from 'node:timers/promises';
import type { Access } from '../auth/viewer.js';
import { DomainError, invalidTransition, notFound } from '../errors.js';
import type { EventRecord } from '../events/event-record.js';
import type { Change, EntityKind, Entities, StateStore, Versioned } from './state-store.js';
import { VersionConflictError } from './state-store.js';

/** What a service decided: the entity's next summary, what changed beside it, and the events that say so. */
export type Decision<K extends EntityKind> = Omit<Change<K>, 'kind' | 'id' | 'expectedVersion'>;

/** How the changes to one kind of entity are guarded. */
export interface EntityRules<K extends EntityKind> {
  kind: K;
  /** How messages name the entity, for example "Agent run". */
  label: string;
  /** The final status the entity has reached, or undefined while it may still change. */
  finalStatus(value: Entities[K]): string | undefined;
}

export interface ChangeApplier {
  /**
   * Reads an entity, lets `decide` validate and compute the change (it throws to reject),
   * and commits state and events atomically (the store publishes them). `decide` may read more
   * of the entity (a step, a node): a commit only succeeds if the entity's version did not
   * move, so whatever it read is still current.
   *
   * @returns the committed summary
   */
  apply<K extends EntityKind>(
    kind: K,
    id: string,
    decide: (current: Versioned<Entities[K]> | undefined) => Decision<K> | Promise<Decision<K>>,
  ): Promise<Entities[K]>;
  /** Reports events committed outside `apply` (a flush of streamed text), as `apply` reports its own. */
  committed(events: EventRecord[]): void;
  /**
   * `apply` for an entity that must exist, be visible and writable to the caller, and not
   * have reached a final state; `action` completes "cannot … agent run "id"".
   */
  update<K extends EntityKind>(
    rules: EntityRules<K>,
    id: string,
    access: Access,
    action: string,
    decide: (value: Entities[K]) => Decision<K> | Promise<Decision<K>>,
  ): Promise<Entities[K]>;
}

/**
 * How long a change may keep losing races with other instances before the caller is told to
 * try again. A time, not a number of attempts: on a loaded machine each attempt is slower,
 * and so is every competitor's.
 */
const CONFLICT_GIVE_UP_MS = 5000;
/** The longest random pause between two attempts. */
const MAX_RETRY_PAUSE_MS = 50;

/**
 * Changes to one entity are applied one after another within this process, so version
 * conflicts only happen between instances; those are retried on fresh state after a random
 * pause that doubles with each lost race (up to 50 ms), spreading the competing writers apart.
 */
export function createChangeApplier(dependencies: {
  store: StateStore;
  /** Told of every event committed (and so published), for metrics. */
  committed(events: EventRecord[]): void;
}): ChangeApplier {
  const { store, committed } = dependencies;
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

  const applier: ChangeApplier = {
    committed,
    apply(kind, id, decide) {
      return serialize(`${kind}:${id}`, async () => {
        const giveUpAt = Date.now() + CONFLICT_GIVE_UP_MS;
        for (let attempt = 1; ; attempt++) {
          const current = await store.get(kind, id);
          const decision = await decide(current);
          let events: EventRecord[];
          try {
            events = await store.commit({ kind, id, expectedVersion: current?.version ?? 0, ...decision });
          } catch (error) {
            if (!(error instanceof VersionConflictError)) throw error;
            if (Date.now() >= giveUpAt) {
              throw new DomainError('CONFLICT', `${kind} "${id}" is being changed by others too often; try again`);
            }
            await sleep(Math.random() * Math.min(2 ** attempt, MAX_RETRY_PAUSE_MS));
            continue;
          }
          committed(events);
          return decision.value;
        }
      });
    },
    update(rules, id, access, action, decide) {
      return applier.apply(rules.kind, id, (current) => {
        if (!current) throw notFound(rules.label, id);
        access.assertWrite(current.value.projectId, rules.label, id);
        const finalStatus = rules.finalStatus(current.value);
        if (finalStatus !== undefined) {
          throw invalidTransition(`cannot ${action} ${rules.label.toLowerCase()} "${id}": it is already ${finalStatus}`);
        }
        return decide(current.value);
      });
    },
  };
  return applier;
}
