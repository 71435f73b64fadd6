import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DomainError } from '../errors.js';
import type { EventDraft, EventRecord } from '../events/event-record.js';
import type {
  AppendedCollection,
  AppendedCollections,
  Entities,
  EntityKind,
  KeyedCollection,
  KeyedCollections,
  LogPage,
  Retention,
  StateStore,
} from './state-store.js';
import { COLLECTIONS_OF, VersionConflictError } from './state-store.js';

/**
 * Shared by the scripts below. A project's head hash holds its epoch and latest position;
 * a missing head means the project is new or Redis lost its data, and either way a new
 * epoch starts and any surviving log entries are dropped with the positions they had.
 *
 * Log entries are stream entries with id `<seq>-0` and fields `t` (append time, ms) and
 * `e` (event JSON). Age trimming walks from the oldest entry, a bounded batch at a time.
 */
const LUA_HELPERS = `
local function ensure_epoch(head, log, new_epoch)
  local epoch = redis.call('HGET', head, 'epoch')
  if not epoch then
    epoch = new_epoch
    redis.call('HSET', head, 'epoch', epoch)
    redis.call('DEL', log)
  end
  return epoch
end

local function seq_of(id)
  return tonumber(string.match(id, '^(%d+)'))
end

local function trim_by_age(log, cutoff, batches)
  if cutoff <= 0 then return end
  -- Most calls find the oldest entry young enough: look at that one alone first.
  local oldest = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  if #oldest == 0 or tonumber(oldest[1][2][2]) >= cutoff then return end
  for _ = 1, batches do
    local entries = redis.call('XRANGE', log, '-', '+', 'COUNT', 100)
    if #entries == 0 then return end
    for _, entry in ipairs(entries) do
      if tonumber(entry[2][2]) >= cutoff then
        redis.call('XTRIM', log, 'MINID', entry[1])
        return
      end
    end
    redis.call('XTRIM', log, 'MINID', (seq_of(entries[#entries][1]) + 1) .. '-0')
  end
end
`;

/**
 * Removes a project's finished entities whose retention has passed: each entity's hash,
 * its collections and its place in the project's index. A bounded batch per call, so no
 * call is ever long; every commit and every listing of the project takes one.
 */
const LUA_PURGE = `
local COLLECTIONS = { ${Object.entries(COLLECTIONS_OF)
  .map(([kind, collections]) => `${kind} = { ${collections.map((collection) => `'${collection}'`).join(', ')} }`)
  .join(', ')} }
local function purge_finished(finished, now, entity_prefix, project_prefix)
  local due = redis.call('ZRANGEBYSCORE', finished, '-inf', now, 'LIMIT', 0, 50)
  for _, member in ipairs(due) do
    local kind, id = string.match(member, '^([^:]+):(.*)$')
    local key = entity_prefix .. kind .. ':' .. id
    redis.call('DEL', key)
    for _, collection in ipairs(COLLECTIONS[kind] or {}) do redis.call('DEL', key .. ':' .. collection) end
    redis.call('ZREM', project_prefix .. kind, id)
    redis.call('ZREM', finished, member)
  end
end
`;

/**
 * Checks the version, stores the entity's summary, writes the collection members and items
 * the change carries, indexes a new entity under its project and appends its events to the
 * project's log at consecutive positions, in one step: Redis runs a script without
 * interleaving, so two instances never hand out the same position, never lose an update,
 * and never store a change without its events or the other way round. Nothing is rewritten
 * that did not change: a message is one RPUSH, a step or a node one HSET.
 *
 * KEYS: entity hash, project index, project head, project log, project finished set, then
 *       the collection keys the writes name.
 * ARGV: expected version, entity JSON, entity id, epoch for a new log, now (ms),
 *       max events (0: no limit), age cutoff (ms, 0: none), expires at (ms, 0: not finished),
 *       finished TTL (ms), kind, entity key prefix, project key prefix, event count, write
 *       count, then one JSON per event, then per write: 'h' or 'l', key index, member key, JSON.
 * Returns false on a version conflict, otherwise { epoch, last seq }.
 */
const COMMIT_SCRIPT = `${LUA_HELPERS}${LUA_PURGE}
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return false end
local epoch = ensure_epoch(KEYS[3], KEYS[4], ARGV[4])
local count = tonumber(ARGV[13])
local writes = tonumber(ARGV[14])
local last = redis.call('HINCRBY', KEYS[3], 'seq', count)
local first = last - count + 1
redis.call('HSET', KEYS[1], 'v', current + 1, 'd', ARGV[2])
if current == 0 then redis.call('ZADD', KEYS[2], first, ARGV[3]) end
local base = 14 + count
for w = 0, writes - 1 do
  local op, key, member, json = ARGV[base + w * 4 + 1], KEYS[tonumber(ARGV[base + w * 4 + 2])], ARGV[base + w * 4 + 3], ARGV[base + w * 4 + 4]
  if op == 'h' then redis.call('HSET', key, member, json) else redis.call('RPUSH', key, json) end
end
local expires_at = tonumber(ARGV[8])
if expires_at > 0 and not redis.call('HGET', KEYS[1], 'x') then
  redis.call('HSET', KEYS[1], 'x', expires_at)
  redis.call('ZADD', KEYS[5], expires_at, ARGV[10] .. ':' .. ARGV[3])
  -- Redis reclaims the memory itself even if the project is never touched again.
  redis.call('PEXPIRE', KEYS[1], ARGV[9])
  for _, collection in ipairs(COLLECTIONS[ARGV[10]] or {}) do redis.call('PEXPIRE', KEYS[1] .. ':' .. collection, ARGV[9]) end
end
local max_events = tonumber(ARGV[6])
for i = 1, count do
  local id = (first + i - 1) .. '-0'
  if max_events > 0 then
    redis.call('XADD', KEYS[4], 'MAXLEN', max_events, id, 't', ARGV[5], 'e', ARGV[14 + i])
  else
    redis.call('XADD', KEYS[4], id, 't', ARGV[5], 'e', ARGV[14 + i])
  end
end
trim_by_age(KEYS[4], tonumber(ARGV[7]), 1)
purge_finished(KEYS[5], tonumber(ARGV[5]), ARGV[11], ARGV[12])
return { epoch, last }
`;

/**
 * KEYS: project head, project log. ARGV: after seq, limit, epoch for a new log, age cutoff.
 * Returns { epoch, head seq, first retained seq, { id, json, id, json, ... } }.
 */
const READ_LOG_SCRIPT = `${LUA_HELPERS}
local epoch = ensure_epoch(KEYS[1], KEYS[2], ARGV[3])
local head = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
trim_by_age(KEYS[2], tonumber(ARGV[4]), 100)
local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local first = head + 1
if #oldest > 0 then first = seq_of(oldest[1][1]) end
local flat = {}
if tonumber(ARGV[2]) > 0 then
  local entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
  for _, entry in ipairs(entries) do
    flat[#flat + 1] = entry[1]
    flat[#flat + 1] = entry[2][4]
  end
end
return { epoch, head, first, flat }
`;

/** The summaries of the entities in an index, in creation order, leaving out any already gone. */
const LUA_READ_INDEX = `
local function read_index(index, entity_prefix)
  local values = {}
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local json = redis.call('HGET', entity_prefix .. id, 'd')
    if json then values[#values + 1] = json end
  end
  return values
end
`;

/**
 * KEYS: project finished set, project index. ARGV: now, entity key prefix, project key
 * prefix, kind. Returns the kind's summaries (JSON) in creation order.
 */
const LIST_SCRIPT = `${LUA_PURGE}${LUA_READ_INDEX}
purge_finished(KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3])
return read_index(KEYS[2], ARGV[2] .. ARGV[4] .. ':')
`;

/**
 * KEYS: project head, project log, project finished set, then the project's index of each
 * entity kind. ARGV: epoch for a new log, now, entity key prefix, project key prefix, then
 * the kinds in KEYS order. Returns { epoch, head seq, { JSON... } per kind }.
 */
const SNAPSHOT_SCRIPT = `${LUA_HELPERS}${LUA_PURGE}${LUA_READ_INDEX}
local epoch = ensure_epoch(KEYS[1], KEYS[2], ARGV[1])
purge_finished(KEYS[3], tonumber(ARGV[2]), ARGV[3], ARGV[4])
local result = { epoch, tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') }
for k = 4, #KEYS do
  result[#result + 1] = read_index(KEYS[k], ARGV[3] .. ARGV[k + 1] .. ':')
end
return result
`;

interface ScriptedRedis extends Redis {
  commitChange(...args: Array<string | number>): Promise<[string, number] | null>;
  readLog(...args: Array<string | number>): Promise<[string, number, number, string[]]>;
  readList(...args: Array<string | number>): Promise<string[]>;
  readSnapshot(...args: Array<string | number>): Promise<[string, number, string[], string[], string[]]>;
}

const SNAPSHOT_KINDS = ['ingestJob', 'agentRun', 'workflowRun'] as const satisfies readonly EntityKind[];

/** The kind of entity each collection belongs to. */
const OWNER_OF = Object.fromEntries(
  Object.entries(COLLECTIONS_OF).flatMap(([kind, collections]) => collections.map((collection) => [collection, kind])),
) as Record<KeyedCollection | AppendedCollection, EntityKind>;

/**
 * A Redis error that is not a reply to a command is a connection problem: the change was
 * not confirmed, and the caller is told so instead of being left to assume success.
 */
function unavailable(error: unknown): never {
  if (error instanceof Error && error.name === 'ReplyError') throw error;
  throw new DomainError(
    'SERVICE_UNAVAILABLE',
    `the event store is unreachable (${(error as Error).message}); nothing was confirmed, retry later`,
  );
}

/**
 * State and event logs in Redis, so every instance answers alike. Keys:
 * - `<prefix>entity:<kind>:<id>`: hash `v` (version), `d` (summary JSON), `x` (when a
 *   finished entity leaves, ms)
 * - `<prefix>entity:<kind>:<id>:<collection>`: a hash of members by key (steps, nodes) or a
 *   list of items (messages)
 * - `<prefix>project:<projectId>:<kind>`: sorted set of ids by creation position
 * - `<prefix>project:<projectId>:finished`: sorted set of `<kind>:<id>` by when they leave
 * - `<prefix>project:<projectId>:head`: hash `epoch`, `seq`
 * - `<prefix>project:<projectId>:log`: stream of the project's retained events
 *
 * @param client a command client the caller owns and closes
 */
export function createRedisStateStore(
  client: Redis,
  options: { prefix: string; retention: Retention; now?: () => number },
): StateStore {
  const { prefix, retention, now = Date.now } = options;
  const redis = client as ScriptedRedis;
  if (!redis.commitChange) {
    redis.defineCommand('commitChange', { lua: COMMIT_SCRIPT });
    redis.defineCommand('readLog', { numberOfKeys: 2, lua: READ_LOG_SCRIPT });
    redis.defineCommand('readList', { numberOfKeys: 2, lua: LIST_SCRIPT });
    redis.defineCommand('readSnapshot', { numberOfKeys: 3 + SNAPSHOT_KINDS.length, lua: SNAPSHOT_SCRIPT });
  }

  const entityPrefix = `${prefix}entity:`;
  const projectPrefix = (projectId: string) => `${prefix}project:${projectId}:`;
  const entityKey = (kind: EntityKind, id: string) => `${entityPrefix}${kind}:${id}`;
  const collectionKey = (collection: KeyedCollection | AppendedCollection, id: string) =>
    `${entityKey(OWNER_OF[collection], id)}:${collection}`;
  const indexKey = (kind: EntityKind, projectId: string) => `${projectPrefix(projectId)}${kind}`;
  const finishedKey = (projectId: string) => `${projectPrefix(projectId)}finished`;
  const headKey = (projectId: string) => `${projectPrefix(projectId)}head`;
  const logKey = (projectId: string) => `${projectPrefix(projectId)}log`;
  const newEpoch = () => randomBytes(6).toString('base64url');
  const ageCutoff = () => (retention.maxAgeMs > 0 ? now() - retention.maxAgeMs : 0);

  const record = (json: string, seq: number, epoch: string) =>
    ({ ...(JSON.parse(json) as EventDraft), seq, epoch }) as EventRecord;

  async function readLog(projectId: string, afterSeq: number, limit: number): Promise<LogPage> {
    const [epoch, headSeq, firstSeq, flat] = await redis
      .readLog(headKey(projectId), logKey(projectId), afterSeq, limit, newEpoch(), ageCutoff())
      .catch(unavailable);
    const events: EventRecord[] = [];
    for (let index = 0; index < flat.length; index += 2) {
      events.push(record(flat[index + 1]!, Number(flat[index]!.split('-')[0]), epoch));
    }
    return { epoch, headSeq: Number(headSeq), firstSeq: Number(firstSeq), events };
  }

  return {
    async get<K extends EntityKind>(kind: K, id: string) {
      const [version, json, expiresAt] = await redis.hmget(entityKey(kind, id), 'v', 'd', 'x').catch(unavailable);
      if (version == null || json == null) return undefined;
      if (expiresAt != null && Number(expiresAt) <= now()) return undefined;
      return { value: JSON.parse(json) as Entities[K], version: Number(version) };
    },
    async list<K extends EntityKind>(kind: K, projectId: string) {
      const values = await redis
        .readList(finishedKey(projectId), indexKey(kind, projectId), now(), entityPrefix, projectPrefix(projectId), kind)
        .catch(unavailable);
      return values.map((json) => JSON.parse(json) as Entities[K]);
    },
    async members<C extends KeyedCollection>(collection: C, id: string, keys?: readonly string[]) {
      const key = collectionKey(collection, id);
      let values: Array<string | null>;
      if (keys === undefined) values = Object.values(await redis.hgetall(key).catch(unavailable));
      else if (keys.length === 0) values = [];
      else values = await redis.hmget(key, ...keys).catch(unavailable);
      const members = values.flatMap((json) => (json == null ? [] : [JSON.parse(json) as KeyedCollections[C]]));
      return members.sort((a, b) => a.index - b.index);
    },
    async items<C extends AppendedCollection>(collection: C, id: string, start: number, end: number) {
      if (end <= start) return [];
      const values = await redis.lrange(collectionKey(collection, id), Math.max(0, start), end - 1).catch(unavailable);
      return values.map((json) => JSON.parse(json) as AppendedCollections[C]);
    },
    async commit(change) {
      const collectionKeys: string[] = [];
      const writes: Array<string | number> = [];
      const keyIndex = (collection: KeyedCollection | AppendedCollection) => {
        const key = collectionKey(collection, change.id);
        let position = collectionKeys.indexOf(key);
        if (position === -1) position = collectionKeys.push(key) - 1;
        return 6 + position;
      };
      for (const { collection, key, value } of change.put ?? []) writes.push('h', keyIndex(collection), key, JSON.stringify(value));
      for (const { collection, value } of change.append ?? []) writes.push('l', keyIndex(collection), '', JSON.stringify(value));
      const time = now();
      const expiresAt = change.finished && retention.finishedMs > 0 ? time + retention.finishedMs : 0;
      const keys = [
        entityKey(change.kind, change.id),
        indexKey(change.kind, change.projectId),
        headKey(change.projectId),
        logKey(change.projectId),
        finishedKey(change.projectId),
        ...collectionKeys,
      ];
      const reply = await redis
        .commitChange(
          keys.length,
          ...keys,
          change.expectedVersion,
          JSON.stringify(change.value),
          change.id,
          newEpoch(),
          time,
          retention.maxEvents,
          ageCutoff(),
          expiresAt,
          retention.finishedMs,
          change.kind,
          entityPrefix,
          projectPrefix(change.projectId),
          change.events.length,
          writes.length / 4,
          ...change.events.map((draft) => JSON.stringify(draft)),
          ...writes,
        )
        .catch(unavailable);
      if (reply === null) {
        throw new VersionConflictError(`${change.kind} ${change.id} changed since version ${change.expectedVersion}`);
      }
      const [epoch, last] = reply;
      const first = Number(last) - change.events.length + 1;
      return change.events.map((draft, index) => ({ ...draft, seq: first + index, epoch }) as EventRecord);
    },
    async head(projectId) {
      const page = await readLog(projectId, 0, 0);
      return { epoch: page.epoch, seq: page.headSeq };
    },
    readLog,
    async snapshot(projectId) {
      const [epoch, seq, ...perKind] = await redis
        .readSnapshot(
          headKey(projectId),
          logKey(projectId),
          finishedKey(projectId),
          ...SNAPSHOT_KINDS.map((kind) => indexKey(kind, projectId)),
          newEpoch(),
          now(),
          entityPrefix,
          projectPrefix(projectId),
          ...SNAPSHOT_KINDS,
        )
        .catch(unavailable);
      const [ingestJobs, agentRuns, workflowRuns] = perKind.map((values) => values.map((json) => JSON.parse(json)));
      return {
        position: { epoch, seq: Number(seq) },
        ingestJobs: ingestJobs!,
        agentRuns: agentRuns!,
        workflowRuns: workflowRuns!,
      };
    },
  };
}
