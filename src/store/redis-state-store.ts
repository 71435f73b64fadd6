import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { EventRecord } from '../events/event-record.js';
import type { Entities, EntityKind, StateStore } from './state-store.js';
import { VersionConflictError } from './state-store.js';

/**
 * Checks the version, stores the entity, indexes a new one under its project and reserves
 * consecutive log positions for its events, all in one step: Redis runs a script without
 * interleaving, so two instances can never give out the same position or lose an update.
 *
 * KEYS: entity hash, project index (sorted set), project head hash.
 * ARGV: expected version, entity JSON, entity id, epoch for a new log, number of events.
 * Returns false on a version conflict, otherwise { epoch, last seq }.
 */
const COMMIT_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return false end
local epoch = redis.call('HGET', KEYS[3], 'epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('HSET', KEYS[3], 'epoch', epoch)
end
local count = tonumber(ARGV[5])
local last = redis.call('HINCRBY', KEYS[3], 'seq', count)
redis.call('HSET', KEYS[1], 'v', current + 1, 'd', ARGV[2])
if current == 0 then redis.call('ZADD', KEYS[2], last - count + 1, ARGV[3]) end
return { epoch, last }
`;

interface RedisWithCommit extends Redis {
  commitChange(
    entityKey: string,
    indexKey: string,
    headKey: string,
    expectedVersion: number,
    entityJson: string,
    entityId: string,
    newEpoch: string,
    eventCount: number,
  ): Promise<[string, number] | null>;
}

/**
 * State in Redis, so every instance answers queries alike. Keys:
 * - `<prefix>entity:<kind>:<id>`: hash `v` (version), `d` (JSON)
 * - `<prefix>project:<projectId>:<kind>`: sorted set of ids by creation position
 * - `<prefix>project:<projectId>:head`: hash `epoch`, `seq`
 *
 * @param redis a command client the caller owns and closes
 */
export function createRedisStateStore(client: Redis, prefix: string): StateStore {
  const redis = client as RedisWithCommit;
  if (!redis.commitChange) redis.defineCommand('commitChange', { numberOfKeys: 3, lua: COMMIT_SCRIPT });

  const entityKey = (kind: EntityKind, id: string) => `${prefix}entity:${kind}:${id}`;
  const indexKey = (kind: EntityKind, projectId: string) => `${prefix}project:${projectId}:${kind}`;
  const headKey = (projectId: string) => `${prefix}project:${projectId}:head`;

  return {
    async get<K extends EntityKind>(kind: K, id: string) {
      const [version, json] = await redis.hmget(entityKey(kind, id), 'v', 'd');
      if (version == null || json == null) return undefined;
      return { value: JSON.parse(json) as Entities[K], version: Number(version) };
    },
    async list<K extends EntityKind>(kind: K, projectId: string) {
      const ids = await redis.zrange(indexKey(kind, projectId), 0, -1);
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(entityKey(kind, id), 'd');
      const replies = (await pipeline.exec()) ?? [];
      const values: Array<Entities[K]> = [];
      for (const [error, json] of replies) {
        if (error) throw error;
        if (typeof json === 'string') values.push(JSON.parse(json) as Entities[K]);
      }
      return values;
    },
    async commit(change) {
      const reply = await redis.commitChange(
        entityKey(change.kind, change.id),
        indexKey(change.kind, change.projectId),
        headKey(change.projectId),
        change.expectedVersion,
        JSON.stringify(change.value),
        change.id,
        randomBytes(6).toString('base64url'),
        change.events.length,
      );
      if (reply === null) {
        throw new VersionConflictError(`${change.kind} ${change.id} changed since version ${change.expectedVersion}`);
      }
      const [epoch, last] = reply;
      const first = Number(last) - change.events.length + 1;
      return change.events.map((draft, index) => ({ ...draft, seq: first + index, epoch }) as EventRecord);
    },
    async head(projectId) {
      const [epoch, seq] = await redis.hmget(headKey(projectId), 'epoch', 'seq');
      if (epoch == null) return undefined;
      return { epoch, seq: Number(seq ?? 0) };
    },
  };
}
