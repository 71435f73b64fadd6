import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DomainError } from '../errors.js';
import type { EventDraft, EventRecord } from '../events/event-record.js';
import type { Entities, EntityKind, LogPage, LogRetention, StateStore } from './state-store.js';
import { VersionConflictError } from './state-store.js';

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
 * Checks the version, stores the entity, indexes a new one under its project and appends
 * its events to the project's log at consecutive positions, in one step: Redis runs a
 * script without interleaving, so two instances never hand out the same position, never
 * lose an update, and never store a change without its events or the other way round.
 *
 * KEYS: entity hash, project index, project head, project log.
 * ARGV: expected version, entity JSON, entity id, epoch for a new log, now (ms),
 *       max events (0: no limit), age cutoff (ms, 0: none), then one JSON per event.
 * Returns false on a version conflict, otherwise { epoch, last seq }.
 */
const COMMIT_SCRIPT = `${LUA_HELPERS}
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return false end
local epoch = ensure_epoch(KEYS[3], KEYS[4], ARGV[4])
local count = #ARGV - 7
local last = redis.call('HINCRBY', KEYS[3], 'seq', count)
local first = last - count + 1
redis.call('HSET', KEYS[1], 'v', current + 1, 'd', ARGV[2])
if current == 0 then redis.call('ZADD', KEYS[2], first, ARGV[3]) end
local max_events = tonumber(ARGV[6])
for i = 1, count do
  local id = (first + i - 1) .. '-0'
  if max_events > 0 then
    redis.call('XADD', KEYS[4], 'MAXLEN', max_events, id, 't', ARGV[5], 'e', ARGV[7 + i])
  else
    redis.call('XADD', KEYS[4], id, 't', ARGV[5], 'e', ARGV[7 + i])
  end
end
trim_by_age(KEYS[4], tonumber(ARGV[7]), 1)
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

/**
 * KEYS: project head, project log, then the project's index of each entity kind.
 * ARGV: entity key prefix, epoch for a new log, then the kinds in KEYS order.
 * Returns { epoch, head seq, { JSON... } per kind }.
 */
const SNAPSHOT_SCRIPT = `${LUA_HELPERS}
local epoch = ensure_epoch(KEYS[1], KEYS[2], ARGV[2])
local result = { epoch, tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') }
for k = 3, #KEYS do
  local values = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[k], 0, -1)) do
    local json = redis.call('HGET', ARGV[1] .. ARGV[k] .. ':' .. id, 'd')
    if json then values[#values + 1] = json end
  end
  result[#result + 1] = values
end
return result
`;

interface ScriptedRedis extends Redis {
  commitChange(...args: Array<string | number>): Promise<[string, number] | null>;
  readLog(...args: Array<string | number>): Promise<[string, number, number, string[]]>;
  readSnapshot(...args: Array<string | number>): Promise<[string, number, string[], string[], string[]]>;
}

const SNAPSHOT_KINDS = ['ingestJob', 'agentRun', 'workflowRun'] as const satisfies readonly EntityKind[];

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
 * - `<prefix>entity:<kind>:<id>`: hash `v` (version), `d` (JSON)
 * - `<prefix>project:<projectId>:<kind>`: sorted set of ids by creation position
 * - `<prefix>project:<projectId>:head`: hash `epoch`, `seq`
 * - `<prefix>project:<projectId>:log`: stream of the project's retained events
 *
 * @param client a command client the caller owns and closes
 */
export function createRedisStateStore(
  client: Redis,
  options: { prefix: string; retention: LogRetention; now?: () => number },
): StateStore {
  const { prefix, retention, now = Date.now } = options;
  const redis = client as ScriptedRedis;
  if (!redis.commitChange) {
    redis.defineCommand('commitChange', { numberOfKeys: 4, lua: COMMIT_SCRIPT });
    redis.defineCommand('readLog', { numberOfKeys: 2, lua: READ_LOG_SCRIPT });
    redis.defineCommand('readSnapshot', { numberOfKeys: 2 + SNAPSHOT_KINDS.length, lua: SNAPSHOT_SCRIPT });
  }

  const entityPrefix = `${prefix}entity:`;
  const entityKey = (kind: EntityKind, id: string) => `${entityPrefix}${kind}:${id}`;
  const indexKey = (kind: EntityKind, projectId: string) => `${prefix}project:${projectId}:${kind}`;
  const headKey = (projectId: string) => `${prefix}project:${projectId}:head`;
  const logKey = (projectId: string) => `${prefix}project:${projectId}:log`;
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
      const [version, json] = await redis.hmget(entityKey(kind, id), 'v', 'd').catch(unavailable);
      if (version == null || json == null) return undefined;
      return { value: JSON.parse(json) as Entities[K], version: Number(version) };
    },
    async list<K extends EntityKind>(kind: K, projectId: string) {
      const ids = await redis.zrange(indexKey(kind, projectId), 0, -1).catch(unavailable);
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(entityKey(kind, id), 'd');
      const replies = (await pipeline.exec().catch(unavailable)) ?? [];
      const values: Array<Entities[K]> = [];
      for (const [error, json] of replies) {
        if (error) unavailable(error);
        if (typeof json === 'string') values.push(JSON.parse(json) as Entities[K]);
      }
      return values;
    },
    async commit(change) {
      const reply = await redis
        .commitChange(
          entityKey(change.kind, change.id),
          indexKey(change.kind, change.projectId),
          headKey(change.projectId),
          logKey(change.projectId),
          change.expectedVersion,
          JSON.stringify(change.value),
          change.id,
          newEpoch(),
          now(),
          retention.maxEvents,
          ageCutoff(),
          ...change.events.map((draft) => JSON.stringify(draft)),
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
          ...SNAPSHOT_KINDS.map((kind) => indexKey(kind, projectId)),
          entityPrefix,
          newEpoch(),
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
