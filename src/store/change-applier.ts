import { setTimeout as sleep } from 'node:timers/promises';
import type { Access } from '../auth/viewer.js';
import { DomainError, invalidTransition, notFound } from '../errors.js';
import type { EventRecord } from '../events/event-record.js';
import type { Change, EntityKind, Entities, IdempotencyRecord, StateStore, Versioned } from './state-store.js';
import { IdempotencyKeyReused, IdempotentReplay, VersionConflictError } from './state-store.js';

/**
 * What a service decided: the entity's next summary, what changed beside it, the events that
 * say so, and what the caller is answered (the summary unless it says otherwise).
 */
export type Decision<K extends EntityKind, A = Entities[K]> = Omit<Change<K>, 'kind' | 'id' | 'expectedVersion' | 'idempotency'> & {
  answer?: A;
};

/** A change asked for with an idempotency key: it happens once, and every repeat gets its answer. */
export interface IdempotentCall {
  record: IdempotencyRecord;
  /** Told when the answer is the recorded one and nothing changed now. */
  replayed(): void;
}

export function keyReused(): DomainError {
  return new DomainError(
    'IDEMPOTENCY_KEY_REUSED',
    'this Idempotency-Key was used before with another operation or other variables; nothing was changed (use a new key for a new request)',
  );
}

/**
 * Refusals that say nothing about whether the change happened before: the caller may not see
 * or change the entity (now), so no recorded answer is looked up for them.
 */
const NO_RECALL: ReadonlySet<string> = new Set(['FORBIDDEN', 'NOT_FOUND']);

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
  apply<K extends EntityKind, A = Entities[K]>(
    kind: K,
    id: string,
    decide: (current: Versioned<Entities[K]> | undefined) => Decision<K, A> | Promise<Decision<K, A>>,
    idempotent?: IdempotentCall & {
      /** The project the change is in when the entity does not exist yet. */
      projectId?: string;
    },
  ): Promise<A>;
  /** Reports events committed outside `apply` (a flush of streamed text), as `apply` reports its own. */
  committed(events: EventRecord[]): void;
  /**
   * `apply` for an entity that must exist, be visible and writable to the caller, and not
   * have reached a final state; `action` completes "cannot … agent run "id"".
   */
  update<K extends EntityKind, A = Entities[K]>(
    rules: EntityRules<K>,
    id: string,
    access: Access,
    action: string,
    decide: (value: Entities[K]) => Decision<K, A> | Promise<Decision<K, A>>,
    idempotent?: IdempotentCall,
  ): Promise<A>;
}

/**
 * How long a change may keep losing races with other instances before the caller is told to
 * try again. A time, not a number of attempts: on a loaded machine each attempt is slower,
 * and so is every competitor's.
 */
const CONFLICT_GIVE_UP_MS = 5000;
/** Entities whose last committed state an instance keeps, for the next change of each. */
const ENTITIES_REMEMBERED = 10_000;
/** The longest random pause between two attempts. */
const MAX_RETRY_PAUSE_MS = 50;

/**
 * Changes to one entity are applied one after another within this process, so version
 * conflicts only happen between instances; those are retried on fresh state after a random
 * pause that doubles with each lost race (up to 50 ms), spreading the competing writers apart.
 *
 * A change with an idempotency key carries its record into the commit, which checks and
 * writes it atomically with the change. A repeat that decides a change again is answered
 * there; a repeat that is refused before it gets there (the first request finished a job,
 * so completing it again is an invalid transition) looks its record up instead.
 */
export function createChangeApplier(dependencies: {
  store: StateStore;
  /** Told of every event committed (and so published), for metrics. */
  committed(events: EventRecord[]): void;
}): ChangeApplier {
  const { store, committed } = dependencies;
  const queues = new Map<string, Promise<unknown>>();
  /**
   * Each entity as this instance last committed it, with its version. A producer's next
   * change of the same entity is decided on it without reading the entity back: the commit's
   * version check still refuses it if another instance changed the entity in between, and
   * then the entity is read. Bounded; the oldest entries go first.
   */
  const recent = new Map<string, Versioned<unknown>>();
  function remember(key: string, entry: Versioned<unknown>): void {
    recent.delete(key);
    recent.set(key, entry);
    if (recent.size > ENTITIES_REMEMBERED) recent.delete(recent.keys().next().value!);
  }

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

  function applyOnce<K extends EntityKind, A>(
    kind: K,
    id: string,
    decide: (current: Versioned<Entities[K]> | undefined) => Decision<K, A> | Promise<Decision<K, A>>,
    idempotent: (IdempotentCall & { projectId?: string }) | undefined,
  ): Promise<A> {
    const entityKey = `${kind}:${id}`;
    return serialize(entityKey, async () => {
      const giveUpAt = Date.now() + CONFLICT_GIVE_UP_MS;
      for (let attempt = 1; ; attempt++) {
        const remembered = recent.get(entityKey) as Versioned<Entities[K]> | undefined;
        const current = remembered ?? (await store.get(kind, id));
        let decision: Awaited<ReturnType<typeof decide>>;
        try {
          decision = await decide(current);
        } catch (error) {
          if (remembered) {
            // Refusals are decided on what the store holds, never on what this instance remembers.
            recent.delete(entityKey);
            attempt--;
            continue;
          }
          const projectId = current?.value.projectId ?? idempotent?.projectId;
          if (idempotent && projectId !== undefined && error instanceof DomainError && !NO_RECALL.has(error.code)) {
            const recorded = await store.recall(projectId, idempotent.record.key);
            if (recorded && recorded.fingerprint !== idempotent.record.fingerprint) throw keyReused();
            if (recorded) {
              idempotent.replayed();
              return JSON.parse(recorded.answer);
            }
          }
          throw error;
        }
        const answer = decision.answer ?? decision.value;
        let events: EventRecord[];
        try {
          events = await store.commit({
            kind,
            id,
            expectedVersion: current?.version ?? 0,
            ...decision,
            // Without an answer of its own, the record answers the entity as committed.
            idempotency: idempotent && { ...idempotent.record, answer: decision.answer === undefined ? undefined : JSON.stringify(decision.answer) },
          });
        } catch (error) {
          if (error instanceof IdempotentReplay) {
            idempotent!.replayed();
            return JSON.parse(error.answer);
          }
          if (error instanceof IdempotencyKeyReused) throw keyReused();
          recent.delete(entityKey);
          if (!(error instanceof VersionConflictError)) throw error;
          // What this instance remembered was stale (another instance changed the entity): read it.
          if (remembered) {
            attempt--;
            continue;
          }
          if (Date.now() >= giveUpAt) {
            throw new DomainError('CONFLICT', `${kind} "${id}" is being changed by others too often; try again`);
          }
          await sleep(Math.random() * Math.min(2 ** attempt, MAX_RETRY_PAUSE_MS));
          continue;
        }
        committed(events);
        remember(entityKey, { value: decision.value, version: (current?.version ?? 0) + 1 });
        return answer as never;
      }
    });
  }

  const applier: ChangeApplier = {
    committed,
    apply(kind, id, decide, idempotent) {
      // A repeat whose first request is still being applied here waits for it, then finds
      // its record, instead of deciding a change of its own beside it.
      if (idempotent) return serialize(`key:${idempotent.record.key}`, () => applyOnce(kind, id, decide, idempotent));
      return applyOnce(kind, id, decide, undefined);
    },
    update(rules, id, access, action, decide, idempotent) {
      return applier.apply(
        rules.kind,
        id,
        (current) => {
          if (!current) throw notFound(rules.label, id);
          access.assertWrite(current.value.projectId, rules.label, id);
          const finalStatus = rules.finalStatus(current.value);
          if (finalStatus !== undefined) {
            throw invalidTransition(`cannot ${action} ${rules.label.toLowerCase()} "${id}": it is already ${finalStatus}`);
          }
          return decide(current.value);
        },
        idempotent,
      );
    },
  };
  return applier;
}
