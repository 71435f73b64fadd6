import { projectSlotTag, slotTagOfId } from './entity-ids.js';
import type { AppendedCollection, EntityKind, KeyedCollection } from './state-store.js';
import { COLLECTIONS_OF } from './state-store.js';

/** Projects whose slot prefix a key set remembers. */
const SLOTS_KEPT = 10_000;

/** The kind of entity each collection belongs to. */
const OWNER_OF = Object.fromEntries(
  Object.entries(COLLECTIONS_OF).flatMap(([kind, collections]) => collections.map((collection) => [collection, kind])),
) as Record<KeyedCollection | AppendedCollection, EntityKind>;

/**
 * Every Redis key and channel name the server uses, in one place. Each key of a project
 * starts with `<prefix>{<project slot tag>}:`, so a project's state, log and head share one
 * hash slot and every script runs on one Redis Cluster shard:
 *
 * - `<slot>entity:<kind>:<id>`: hash `v` (version), `d` (summary JSON), `x` (when a finished
 *   entity leaves, ms); an entity's id carries its project's tag (see `newEntityId`)
 * - `<slot>entity:<kind>:<id>:<collection>`: a hash of members by key (steps, nodes,
 *   messageIds) or a list of items (messages)
 * - `<slot>entity:agentRun:<id>:streams`, `…:content:<messageId>`, `…:content:<messageId>:due`:
 *   streaming messages
 * - `<slot>project:<projectId>:<kind>`: sorted set of ids by creation position
 * - `<slot>project:<projectId>:finished`: sorted set of `<kind>:<id>` by when they leave
 * - `<slot>project:<projectId>:head`: hash `epoch`, `seq`, `n` (the node that wrote it, on a
 *   cluster), `o` and `p` (when retention is next due), and the project's idempotency
 *   records, each a field `<generation>:<key>` holding its fingerprint, expiry and answer
 *   (`kg` and `kc`: how far dropping expired ones got)
 * - `<slot>project:<projectId>:log`: stream of the project's retained events
 * - `<slot>project:<projectId>:active`: sorted set of open `<kind>:<id>` by their last change
 *   (only while abandoned work is looked for)
 * - `<prefix>active-projects`: sorted set of projects that may have open work, by when an
 *   instance last named them
 * - `<prefix>projects-with-records`: sorted set of projects that may hold idempotency
 *   records, by when an instance last named them; these two are the only keys outside a
 *   project's slot
 *
 * The Lua scripts build entity keys of a project from `entityPrefix` and its collection
 * keys from the entity key, so those strings must keep this shape.
 */
export function createRedisKeys(prefix: string) {
  /**
   * The slot prefix of recent projects. A commit names half a dozen keys of one project and
   * its channel, and each tag is a SHA-256 (about 1.6 µs): computed once per project instead.
   * Bounded; the oldest entries go first.
   */
  const slots = new Map<string, string>();
  const slotOfProject = (projectId: string) => {
    let slot = slots.get(projectId);
    if (slot === undefined) {
      slot = `${prefix}{${projectSlotTag(projectId)}}:`;
      slots.set(projectId, slot);
      if (slots.size > SLOTS_KEPT) slots.delete(slots.keys().next().value!);
    }
    return slot;
  };
  const projectPrefix = (projectId: string) => `${slotOfProject(projectId)}project:${projectId}:`;
  const entity = (kind: EntityKind, id: string) => `${prefix}{${slotTagOfId(id)}}:entity:${kind}:${id}`;
  const content = (runId: string, messageId: string) => `${entity('agentRun', runId)}:content:${messageId}`;
  return {
    /** Whether an entity of `id` is stored in the slot of `projectId`: only then can a change commit. */
    sameSlot: (id: string, projectId: string) => slotOfProject(projectId) === `${prefix}{${slotTagOfId(id)}}:`,
    /** Where the entities of a project's slot start; the scripts append `<kind>:<id>`. */
    entityPrefix: (projectId: string) => `${slotOfProject(projectId)}entity:`,
    entity,
    collection: (collection: KeyedCollection | AppendedCollection, id: string) => `${entity(OWNER_OF[collection], id)}:${collection}`,
    streams: (runId: string) => `${entity('agentRun', runId)}:streams`,
    content,
    contentDue: (runId: string, messageId: string) => `${content(runId, messageId)}:due`,
    /** Where a project's keys start; the scripts append the entity kind for its index. */
    projectPrefix,
    index: (kind: EntityKind, projectId: string) => `${projectPrefix(projectId)}${kind}`,
    finished: (projectId: string) => `${projectPrefix(projectId)}finished`,
    head: (projectId: string) => `${projectPrefix(projectId)}head`,
    log: (projectId: string) => `${projectPrefix(projectId)}log`,
    active: (projectId: string) => `${projectPrefix(projectId)}active`,
    activeProjects: () => `${prefix}active-projects`,
    projectsWithRecords: () => `${prefix}projects-with-records`,
    /**
     * A project's event channel. On a cluster it is a sharded channel in the project's own
     * slot, so its messages travel only through the shard that holds the project; a plain
     * channel keeps the name it always had.
     */
    channel: (projectId: string, sharded: boolean) =>
      sharded ? `${slotOfProject(projectId)}events:${projectId}` : `${prefix}events:${projectId}`,
  };
}

export type RedisKeys = ReturnType<typeof createRedisKeys>;
