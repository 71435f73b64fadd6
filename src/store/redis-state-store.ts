import type { Cluster, Redis } from 'ioredis';
import { DomainError } from '../errors.js';
import type { EventDraft, EventRecord } from '../events/event-record.js';
import type { AgentMessageRecord } from './records.js';
import type {
  AppendedCollection,
  AppendedCollections,
  ContentAppend,
  Entities,
  IdempotencyRecord,
  EntityKind,
  KeyedCollection,
  KeyedCollections,
  LogPage,
  Retention,
  StateStore,
} from './state-store.js';
import { createRedisKeys } from './redis-keys.js';
import { COLLECTIONS_OF, IDEMPOTENCY_FINGERPRINT_LENGTH as FINGERPRINT_LENGTH, FLUSH_GRACE_MS, EntityNotIdle, IdempotencyKeyReused, IdempotentReplay, PageTooLarge, VersionConflictError } from './state-store.js';
import { newEpoch } from './epochs.js';

/**
 * Shared by the scripts below. A project's head hash holds its epoch and latest position;
 * a missing head means the project is new or Redis lost its data, and either way a new
 * epoch starts and any surviving log entries are dropped with the positions they had.
 *
 * On a cluster the head also names the node that wrote it (`n`). Replication is
 * asynchronous: a replica promoted in a failover may lack the last events its old master
 * acknowledged, and its head would hand their positions out again to different events, a
 * gap no cursor could reveal. So a head written by another node starts a new epoch too.
 *
 * Log entries are stream entries with id `<seq>-0` and fields `t` (append time, ms) and
 * `e` (event JSON). Age trimming walks from the oldest entry, a bounded batch at a time.
 */
const LUA_HELPERS = `
local fence_by_node = false
local publish_command = 'PUBLISH'

-- Publishes a logged event on its project's channel as the record readers get: the draft
-- with its position. In the script that logs it, so an event is announced exactly when it
-- is committed, and without a command of its own.
local function announce(channel, draft, seq, epoch)
  redis.call(publish_command, channel, string.sub(draft, 1, -2) .. ',"seq":' .. seq .. ',"epoch":' .. cjson.encode(epoch) .. '}')
end
-- The epoch of a head whose epoch and writing node were read already (a head also holds
-- idempotency records, which a new epoch keeps: they say what was committed, not where).
-- Returns the epoch, and true when a new one started (the position starts again at 0).
local function fence(head, log, new_epoch, epoch, written_by)
  local node = ''
  if fence_by_node then
    node = redis.call('CLUSTER', 'MYID')
    if epoch and written_by ~= node then
      redis.call('HDEL', head, 'epoch', 'seq', 'o', 'p')
      epoch = nil
    end
  end
  if not epoch then
    redis.call('HSET', head, 'epoch', new_epoch, 'n', node)
    redis.call('DEL', log)
    return new_epoch, true
  end
  return epoch, false
end
local function ensure_epoch(head, log, new_epoch)
  local read = redis.call('HMGET', head, 'epoch', 'n')
  return (fence(head, log, new_epoch, read[1], read[2]))
end

local function seq_of(id)
  return tonumber(string.match(id, '^(%d+)'))
end

-- Returns the append time of the oldest entry left once it is young enough, or nil (an
-- empty log, or more left to trim than the batches took).
local function trim_by_age(log, cutoff, batches)
  if cutoff <= 0 then return nil end
  -- Most calls find the oldest entry young enough: look at that one alone first.
  local oldest = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  if #oldest == 0 then return nil end
  if tonumber(oldest[1][2][2]) >= cutoff then return tonumber(oldest[1][2][2]) end
  for _ = 1, batches do
    local entries = redis.call('XRANGE', log, '-', '+', 'COUNT', 100)
    if #entries == 0 then return nil end
    for _, entry in ipairs(entries) do
      if tonumber(entry[2][2]) >= cutoff then
        redis.call('XTRIM', log, 'MINID', entry[1])
        return tonumber(entry[2][2])
      end
    end
    redis.call('XTRIM', log, 'MINID', (seq_of(entries[#entries][1]) + 1) .. '-0')
  end
  return nil
end
`;

/**
 * Each item of an appended collection has its size in a list beside it (`<list>:sizes`), so
 * that a page too large to answer is refused without copying it: the bytes of its JSON, or
 * for an item still streaming `<bytes>:<id>`, its content's bytes being its content string's.
 */
const LUA_ITEM_SIZE = `
local function item_size(json)
  if string.find(json, '"status":"STREAMING"', 1, true) then return #json .. ':' .. cjson.decode(json).id end
  return #json
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
    for _, collection in ipairs(COLLECTIONS[kind] or {}) do redis.call('DEL', key .. ':' .. collection, key .. ':' .. collection .. ':sizes') end
    redis.call('ZREM', project_prefix .. kind, id)
    redis.call('ZREM', finished, member)
  end
end
`;

/**
 * An idempotency record is a field of its project's head, named `<generation>:<key>`, where
 * the generation is the window the record was written in (its time divided by the window).
 * Its value is the request's fingerprint (fixed length), when it expires (ms, 15 digits),
 * then the answer. A key is looked up in the current generation and the one before, which
 * together hold every record younger than a window, and an expired record is no record.
 *
 * The head is read and written by every commit anyway, so a record costs a field in each
 * of those two commands rather than a key and commands of its own. Older generations are
 * dropped a batch at a time (`prune_records`) by the commits of the project, from where
 * the last batch ended (`kc`), once its oldest generation (`kg`) is past; the records of a
 * project that stopped writing are dropped by a sweep (PRUNE_RECORDS_SCRIPT).
 */
const LUA_IDEMPOTENCY = `
local function recorded_answer(recorded, fingerprint, now)
  if not recorded or tonumber(string.sub(recorded, #fingerprint + 1, #fingerprint + 15)) <= now then return nil end
  if string.sub(recorded, 1, #fingerprint) == fingerprint then return { 'r', string.sub(recorded, #fingerprint + 16) } end
  return { 'k' }
end
-- Drops the records of generations older than the one given among the next count fields
-- of the head from the cursor on; returns the cursor to go on from ('0': the head is done).
local function prune_records(head, cursor, before, count)
  local scan = redis.call('HSCAN', head, cursor, 'COUNT', count)
  local doomed = {}
  for i = 1, #scan[2], 2 do
    local generation = string.match(scan[2][i], '^(%d+):')
    if generation and tonumber(generation) < before then doomed[#doomed + 1] = scan[2][i] end
  end
  if #doomed > 0 then redis.call('HDEL', head, unpack(doomed)) end
  return scan[1]
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
 * A streaming message's text lives in a string of its own (`…:content:<messageId>`, grown
 * by APPEND) and its progress in the run's `…:streams` hash (`<id>:c` code units stored,
 * `<id>:e` code units and `<id>:b` bytes already emitted, `<id>:m` the message as started).
 * Completing it writes its whole content into its list item once and drops the rest.
 *
 * An idempotency key is looked up in the project's head, read once at the start, and
 * recorded there by the same command that moves the head's position: there is no moment in
 * which the change is committed and its key is not, or the other way round, and a repeat
 * finds the key whatever instance committed it. A refused change records nothing.
 *
 * Each call also carries an attempt id, kept on the entity (`a`) with the positions it was
 * given: the Redis client itself sends a script again when its connection closed before the
 * reply (a cluster client does), and such a resend is answered with what the first run
 * committed instead of being taken for another writer's conflict.
 *
 * With activity tracked, the project's active set holds every open entity by the time of its
 * last change, which is how work whose producer vanished is found; a change made only if the
 * entity stayed idle (`ifIdleSince`) is refused with { 'busy' } if it changed since.
 *
 * KEYS: entity hash, project index, project head, project log, project finished set, the
 *       project's active set, then the collection keys the writes name.
 * ARGV: expected version, entity JSON, entity id, epoch for a new log, now (ms),
 *       max events (0: no limit), age cutoff (ms, 0: none), finished (1 or 0),
 *       finished retention (ms, 0: for good), kind, entity key prefix, project key prefix,
 *       event count, write count, the project's channel, the idempotency fingerprint ('':
 *       none), the answer to record ('': the entity JSON), when the record expires (ms, 15
 *       digits), the attempt id, track activity ('1' or ''), idle since (ms, '' for any),
 *       the record's field, the field of the key in the generation before, the current
 *       generation, then one JSON per event, then
 *       per write seven values:
 *       op, key index, then by op
 *       'h' (HSET member): member key, JSON;
 *       'l' (RPUSH item, and its size onto `<key>:sizes`, see LUA_ITEM_SIZE): -, JSON;
 *       'o' (open a stream, key is the streams hash): message id, message JSON;
 *       'f' (complete a stream, key is the streams hash): message id, message JSON,
 *           expected content bytes, expected emitted code units, list index from the end.
 * Each event is published on the project's channel as it is logged.
 * Returns false on a version conflict, { 'r', answer } when the key was recorded with the
 * same fingerprint, { 'k' } when with another, otherwise { 'c', epoch, last seq }.
 */
const COMMIT_SCRIPT = `${LUA_HELPERS}${LUA_PURGE}${LUA_IDEMPOTENCY}
local state = redis.call('HMGET', KEYS[1], 'v', 'a')
local attempt = ARGV[19]
if state[2] and string.sub(state[2], 1, #attempt + 1) == attempt .. ' ' then
  local epoch, last = string.match(string.sub(state[2], #attempt + 2), '^(%S+) (%d+)$')
  return { 'c', epoch, tonumber(last) }
end
local now = tonumber(ARGV[5])
local fingerprint = ARGV[16]
local keyed = fingerprint ~= ''
local generation = tonumber(ARGV[24])
-- The head, read once: epoch and the node that wrote it, position, when retention is due
-- (o, p), where pruning old records stands (kg, kc), and the key's records.
local head
if keyed then
  head = redis.call('HMGET', KEYS[3], 'epoch', 'n', 'seq', 'o', 'p', 'kg', 'kc', 'b', ARGV[22], ARGV[23])
  local recorded = recorded_answer(head[9], fingerprint, now) or recorded_answer(head[10], fingerprint, now)
  if recorded then return recorded end
else
  head = redis.call('HMGET', KEYS[3], 'epoch', 'n', 'seq', 'o', 'p', 'kg', 'kc', 'b')
end
local current = tonumber(state[1] or '0')
if current ~= tonumber(ARGV[1]) then return false end
local member = ARGV[10] .. ':' .. ARGV[3]
if ARGV[21] ~= '' and tonumber(redis.call('ZSCORE', KEYS[6], member) or '0') > tonumber(ARGV[21]) then
  return { 'busy' }
end
local count = tonumber(ARGV[13])
local writes = tonumber(ARGV[14])
local channel = ARGV[15]
local base = 24 + count
local function write(w)
  local at = base + w * 7
  return ARGV[at + 1], KEYS[tonumber(ARGV[at + 2])], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6], ARGV[at + 7]
end
local function content_key(id) return KEYS[1] .. ':content:' .. id end
${LUA_ITEM_SIZE}
-- A stream completed on what was read must still be exactly that: nothing stored or emitted since.
for w = 0, writes - 1 do
  local op, key, id, _, bytes, emitted = write(w)
  if op == 'f' then
    if redis.call('STRLEN', content_key(id)) ~= tonumber(bytes) or redis.call('HGET', key, id .. ':e') ~= emitted then
      return false
    end
  end
end
local epoch, fresh = fence(KEYS[3], KEYS[4], ARGV[4], head[1], head[2])
if fresh then head[3], head[4], head[5], head[8] = nil, nil, nil, nil end
local last = tonumber(head[3] or '0') + count
local first = last - count + 1
-- The bytes logged so far (b): each entry keeps the total through it (c), so the size of any
-- run of entries is known from its two ends without reading the events between.
local logged = tonumber(head[8] or '0')
local total = logged
for i = 1, count do total = total + #ARGV[24 + i] end
if keyed then
  local answer = ARGV[17]
  if answer == '' then answer = ARGV[2] end
  if head[6] then
    redis.call('HSET', KEYS[3], 'seq', last, 'b', total, ARGV[22], fingerprint .. ARGV[18] .. answer)
  else
    redis.call('HSET', KEYS[3], 'seq', last, 'b', total, ARGV[22], fingerprint .. ARGV[18] .. answer, 'kg', generation)
    head[6] = generation
  end
else
  redis.call('HSET', KEYS[3], 'seq', last, 'b', total)
end
redis.call('HSET', KEYS[1], 'v', current + 1, 'd', ARGV[2], 'a', attempt .. ' ' .. epoch .. ' ' .. last)
if current == 0 then redis.call('ZADD', KEYS[2], first, ARGV[3]) end
for w = 0, writes - 1 do
  local op, key, a, b, c, d, e = write(w)
  if op == 'h' then redis.call('HSET', key, a, b)
  elseif op == 'l' then
    redis.call('RPUSH', key, b)
    redis.call('RPUSH', key .. ':sizes', item_size(b))
  elseif op == 'o' then redis.call('HSET', key, a .. ':c', 0, a .. ':e', 0, a .. ':b', 0, a .. ':m', b)
  elseif op == 'f' then
    redis.call('LSET', KEYS[1] .. ':messages', tonumber(e), b)
    local sizes = KEYS[1] .. ':messages:sizes'
    if redis.call('LLEN', sizes) == redis.call('LLEN', KEYS[1] .. ':messages') then redis.call('LSET', sizes, tonumber(e), #b) end
    redis.call('DEL', content_key(a), content_key(a) .. ':due')
    redis.call('HDEL', key, a .. ':c', a .. ':e', a .. ':b', a .. ':m', a .. ':a', a .. ':t')
  end
end
if ARGV[8] == '1' and not redis.call('HGET', KEYS[1], 'f') then
  redis.call('HSET', KEYS[1], 'f', 1)
  local ttl = tonumber(ARGV[9])
  if ttl > 0 then
    local expires_at = tonumber(ARGV[5]) + ttl
    redis.call('HSET', KEYS[1], 'x', expires_at)
    redis.call('ZADD', KEYS[5], expires_at, ARGV[10] .. ':' .. ARGV[3])
    if head[5] and tonumber(head[5]) > expires_at then
      redis.call('HSET', KEYS[3], 'p', expires_at)
      head[5] = expires_at
    end
    -- Redis reclaims the memory itself even if the project is never touched again.
    redis.call('PEXPIRE', KEYS[1], ttl)
    for _, collection in ipairs(COLLECTIONS[ARGV[10]] or {}) do
      redis.call('PEXPIRE', KEYS[1] .. ':' .. collection, ttl)
      redis.call('PEXPIRE', KEYS[1] .. ':' .. collection .. ':sizes', ttl)
    end
  end
end
local max_events = tonumber(ARGV[6])
for i = 1, count do
  local seq = first + i - 1
  logged = logged + #ARGV[24 + i]
  if max_events > 0 then
    redis.call('XADD', KEYS[4], 'MAXLEN', max_events, seq .. '-0', 't', ARGV[5], 'e', ARGV[24 + i], 'c', logged)
  else
    redis.call('XADD', KEYS[4], seq .. '-0', 't', ARGV[5], 'e', ARGV[24 + i], 'c', logged)
  end
  announce(channel, ARGV[24 + i], seq, epoch)
end
-- Retention is looked at only when something may be due: the head keeps when the oldest
-- retained event was appended (o) and the earliest a finished entity may leave (p). Both
-- only ever move later by themselves (appends, trims and purges elsewhere), so a stale one
-- just asks for a look that finds nothing.
local due = { head[4], head[5] }
local cutoff = tonumber(ARGV[7])
if cutoff > 0 and (not due[1] or tonumber(due[1]) < cutoff) then
  local oldest = trim_by_age(KEYS[4], cutoff, 1)
  if oldest then redis.call('HSET', KEYS[3], 'o', oldest) end
end
if not due[2] or tonumber(due[2]) <= tonumber(ARGV[5]) then
  purge_finished(KEYS[5], tonumber(ARGV[5]), ARGV[11], ARGV[12])
  local next_due = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
  redis.call('HSET', KEYS[3], 'p', next_due[2] or '9007199254740991')
end
-- A finished entity leaves the active set even where activity is not tracked, so an
-- instance without the setting cannot leave an entry behind for the others to trip over.
if ARGV[8] == '1' then redis.call('ZREM', KEYS[6], member)
elseif ARGV[20] ~= '' then redis.call('ZADD', KEYS[6], ARGV[5], member) end
-- Records of generations before the last one have all expired: a batch of them goes.
if head[6] and tonumber(head[6]) < generation - 1 then
  local cursor = prune_records(KEYS[3], head[7] or '0', generation - 1, 64)
  if cursor == '0' then
    redis.call('HSET', KEYS[3], 'kg', generation - 1)
    redis.call('HDEL', KEYS[3], 'kc')
  else
    redis.call('HSET', KEYS[3], 'kc', cursor)
  end
end
return { 'c', epoch, last }
`;

/**
 * Appends what a streaming message stored since its last delta to the log as one
 * AGENT_MESSAGE_DELTA event and publishes it, in the step that decided to, so two instances
 * never send the same text twice and never skip any. The event is built here because only
 * here is the text known: the caller gives its start, this adds the run's summary and the
 * delta. The time of the delta (`<id>:t`) starts the message's next batching window.
 * Returns false when nothing is pending, otherwise { epoch, seq, event JSON }.
 */
const LUA_EMIT_DELTA = `
local function emit_delta(run, streams, content, head, log, id, draft, new_epoch, now, max_events, cutoff, channel)
  local state = redis.call('HMGET', streams, id .. ':c', id .. ':b', id .. ':e')
  if not state[1] then return false end
  local from = tonumber(state[2])
  local length = redis.call('STRLEN', content)
  if length <= from then return false end
  local text = redis.call('GETRANGE', content, from, length - 1)
  redis.call('HSET', streams, id .. ':b', length, id .. ':e', state[1], id .. ':t', now)
  local epoch = ensure_epoch(head, log, new_epoch)
  local seq = redis.call('HINCRBY', head, 'seq', 1)
  local event = draft .. ',"run":' .. redis.call('HGET', run, 'd') .. ',"messageDelta":{"messageId":' ..
    cjson.encode(id) .. ',"offset":' .. state[3] .. ',"text":' .. cjson.encode(text) .. '}}'
  local logged = redis.call('HINCRBY', head, 'b', #event)
  if max_events > 0 then
    redis.call('XADD', log, 'MAXLEN', max_events, seq .. '-0', 't', now, 'e', event, 'c', logged)
  else
    redis.call('XADD', log, seq .. '-0', 't', now, 'e', event, 'c', logged)
  end
  trim_by_age(log, cutoff, 1)
  announce(channel, event, seq, epoch)
  return { epoch, seq, event }
end
`;

/**
 * Stores streamed text in place: one APPEND, no rewrite of the run or of earlier text.
 *
 * With an offset, the text is stored only at the content's end. A piece the content already
 * holds at that offset is a retry whose first reply was lost: it changes nothing and is
 * answered as the first time. The offset is UTF-16 code units and the content UTF-8 bytes,
 * so its byte position is found walking back from the end, which a retry of a recent piece
 * finds at once.
 *
 * The message's last attempt id (`<id>:a`, with the offset it stored at) answers a resend
 * of the same call by the Redis client, as in COMMIT_SCRIPT.
 *
 * Stored text is a change of its run: with activity tracked, the run's time in its
 * project's active set moves on.
 *
 * A piece sent with an idempotency key (and no offset) has its record in the project's
 * head, as a commit's has.
 *
 * Stored text goes out as a delta in the same step when the message's last delta is a
 * batching window old or more (or the window is 0): a producer that batches its own pieces
 * for a window costs one call per piece, and its text waits for no second window. Otherwise
 * the first caller after the last delta is told to flush when the window ends; the flush-due
 * marker lets another caller take over if that one went away.
 *
 * KEYS: run hash, streams hash, content string, flush-due marker, message ids hash, the
 *       project's head, the project's active set, the project's log.
 * ARGV: message id, text, its length in UTF-16 code units, most code units allowed,
 *       the batching window (ms, 0: every piece goes out at once), offset ('' for none),
 *       idempotency fingerprint ('' for none), when its record expires (ms, 15 digits),
 *       attempt id (also the epoch for a new log), now (ms; '' when activity is not
 *       tracked), the run's member there, the record's field, the key's field in the
 *       generation before, the current generation, now (ms), the delta event's JSON without
 *       its last fields and closing brace, max events, age cutoff (ms), the project's
 *       channel, how long past the window a flush may be late before another caller takes
 *       it over (ms).
 * Returns { outcome } or { 'appended' | 'replayed', offset, flush in (ms, -1: not this
 * caller's to flush), message JSON[, epoch, seq, event JSON of the delta sent] } or
 * { 'too-long' | 'offset-mismatch', stored length }.
 */
const APPEND_CONTENT_SCRIPT = `${LUA_HELPERS}${LUA_IDEMPOTENCY}${LUA_EMIT_DELTA}
local last = redis.call('HGET', KEYS[2], ARGV[1] .. ':a')
if last and string.sub(last, 1, #ARGV[9] + 1) == ARGV[9] .. ' ' then
  -- The first run may have been the one told to flush: this answer tells it again.
  return { 'appended', tonumber(string.sub(last, #ARGV[9] + 2)), tonumber(ARGV[5]), redis.call('HGET', KEYS[2], ARGV[1] .. ':m') }
end
local recorded, oldest = nil, false
if ARGV[7] ~= '' then
  local head = redis.call('HMGET', KEYS[6], ARGV[12], ARGV[13], 'kg')
  local now = tonumber(ARGV[15])
  recorded = recorded_answer(head[1], ARGV[7], now) or recorded_answer(head[2], ARGV[7], now)
  oldest = head[3]
end
if recorded then
  if recorded[1] == 'k' then return { 'key-reused' } end
  local offset, message = string.match(recorded[2], '^(%d+):(.*)$')
  return { 'replayed', tonumber(offset), -1, message }
end
if redis.call('EXISTS', KEYS[1]) == 0 then return { 'run-missing' } end
if redis.call('HGET', KEYS[1], 'f') then return { 'run-finished' } end
local stored = redis.call('HGET', KEYS[2], ARGV[1] .. ':c')
if not stored then
  if redis.call('HEXISTS', KEYS[5], ARGV[1]) == 1 then return { 'message-complete' } end
  return { 'message-missing' }
end
stored = tonumber(stored)
local units = tonumber(ARGV[3])
if ARGV[6] ~= '' and tonumber(ARGV[6]) ~= stored then
  local offset = tonumber(ARGV[6])
  if offset < stored and offset + units <= stored then
    -- The byte position of code unit offset: walk back stored - offset units from the end.
    -- A unit takes at most 3 bytes, so the tail read holds them all.
    local bytes = redis.call('STRLEN', KEYS[3])
    local back = stored - offset
    local window = math.min(bytes, back * 3)
    local tail = redis.call('GETRANGE', KEYS[3], bytes - window, bytes - 1)
    local i, counted = #tail, 0
    while counted < back and i > 0 do
      local j = i
      while j > 1 and string.byte(tail, j) >= 0x80 and string.byte(tail, j) < 0xC0 do j = j - 1 end
      if string.byte(tail, j) >= 0xF0 then counted = counted + 2 else counted = counted + 1 end
      i = j - 1
    end
    if counted == back then
      local start = bytes - (#tail - i)
      if redis.call('GETRANGE', KEYS[3], start, start + #ARGV[2] - 1) == ARGV[2] then
        return { 'replayed', offset, -1, redis.call('HGET', KEYS[2], ARGV[1] .. ':m') }
      end
    end
  end
  return { 'offset-mismatch', stored }
end
if stored + units > tonumber(ARGV[4]) then return { 'too-long', stored } end
redis.call('APPEND', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1] .. ':c', stored + units, ARGV[1] .. ':a', ARGV[9] .. ' ' .. stored)
local window, now = tonumber(ARGV[5]), tonumber(ARGV[15])
local flush_in, sent = -1, nil
if redis.call('EXISTS', KEYS[4]) == 0 then
  local last_delta = redis.call('HGET', KEYS[2], ARGV[1] .. ':t')
  local since = last_delta and now - tonumber(last_delta) or window
  if window == 0 or since >= window then
    sent = emit_delta(KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[8], ARGV[1], ARGV[16], ARGV[9], now, tonumber(ARGV[17]), tonumber(ARGV[18]), ARGV[19])
  else
    -- At most a window: another instance's clock may be ahead of this one's.
    flush_in = math.min(window, window - since)
    redis.call('SET', KEYS[4], 1, 'PX', flush_in + tonumber(ARGV[20]))
  end
end
local message = redis.call('HGET', KEYS[2], ARGV[1] .. ':m')
if ARGV[7] ~= '' then
  if oldest then redis.call('HSET', KEYS[6], ARGV[12], ARGV[7] .. ARGV[8] .. stored .. ':' .. message)
  else redis.call('HSET', KEYS[6], ARGV[12], ARGV[7] .. ARGV[8] .. stored .. ':' .. message, 'kg', ARGV[14]) end
end
if ARGV[10] ~= '' then redis.call('ZADD', KEYS[7], 'XX', ARGV[10], ARGV[11]) end
if sent then return { 'appended', stored, flush_in, message, sent[1], sent[2], sent[3] } end
return { 'appended', stored, flush_in, message }
`;

/**
 * The flush of a batching window that ended: sends what the message stored since its last
 * delta (see LUA_EMIT_DELTA). KEYS: run hash, streams hash, content string, flush-due
 * marker, project head, project log. ARGV: message id, event JSON without its last fields
 * and closing brace, epoch for a new log, now (ms), max events, age cutoff (ms), the
 * project's channel. Returns false when nothing is pending, otherwise { epoch, seq, event JSON }.
 */
const FLUSH_CONTENT_SCRIPT = `${LUA_HELPERS}${LUA_EMIT_DELTA}
redis.call('DEL', KEYS[4])
return emit_delta(KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7])
`;

/**
 * The run's streaming messages (or the one asked for), each with its content so far, read
 * in one step. KEYS: streams hash. ARGV: content key prefix, message id or ''.
 * Returns per message { id, message JSON, emitted code units, content }.
 */
const READ_STREAMS_SCRIPT = `
local ids = {}
if ARGV[2] ~= '' then
  ids[1] = ARGV[2]
else
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    local id = string.match(field, '^(.*):m$')
    if id then ids[#ids + 1] = id end
  end
end
local result = {}
for _, id in ipairs(ids) do
  local message = redis.call('HGET', KEYS[1], id .. ':m')
  if message then
    result[#result + 1] = { id, message, redis.call('HGET', KEYS[1], id .. ':e'), redis.call('GET', ARGV[1] .. id) or '' }
  end
end
return result
`;

/**
 * A page of a run's messages, each streaming one with its content so far, read in one step:
 * read apart, a message completed between the list and its content would show as started,
 * its text empty, behind the position a snapshot reads it at.
 * KEYS: the messages list. ARGV: first index, last index, content key prefix, most bytes
 * (0: any). Returns { JSON, content or false, JSON, content or false, ... }, or { 'big' }
 * when the page's JSON and contents are larger than the most bytes: then nothing is sent,
 * and with the sizes list whole (see LUA_ITEM_SIZE) nothing of the page is read either.
 */
const READ_ITEMS_SCRIPT = `
local most = tonumber(ARGV[4])
local counted = most == 0
if not counted and redis.call('LLEN', KEYS[1] .. ':sizes') == redis.call('LLEN', KEYS[1]) then
  local bytes = 0
  for _, size in ipairs(redis.call('LRANGE', KEYS[1] .. ':sizes', ARGV[1], ARGV[2])) do
    local json, id = string.match(size, '^(%d+):(.*)$')
    if id then bytes = bytes + tonumber(json) + redis.call('STRLEN', ARGV[3] .. id)
    else bytes = bytes + tonumber(size) end
  end
  if bytes > most then return { 'big' } end
  counted = true
end
local flat = {}
local bytes = 0
for _, json in ipairs(redis.call('LRANGE', KEYS[1], ARGV[1], ARGV[2])) do
  flat[#flat + 1] = json
  local content = false
  if string.find(json, '"status":"STREAMING"', 1, true) then
    content = redis.call('GET', ARGV[3] .. cjson.decode(json).id)
  end
  flat[#flat + 1] = content
  bytes = bytes + #json + (content and #content or 0)
  if not counted and bytes > most then return { 'big' } end
end
return flat
`;

/**
 * KEYS: project head, project log. ARGV: after seq, limit, epoch for a new log, age cutoff,
 * most bytes (0: any). With most bytes the entries are read in growing batches (1, 2, 4, …
 * 64) and the page ends once its events hold that many bytes (one at least), so no call
 * copies much more than that into Lua, however large the events.
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
local limit = tonumber(ARGV[2])
local most = tonumber(ARGV[5])
local from = '(' .. ARGV[1] .. '-0'
local taken, bytes, chunk = 0, 0, 1
while taken < limit and (most == 0 or bytes < most) do
  local entries = redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', most == 0 and limit or math.min(chunk, limit - taken))
  chunk = math.min(chunk * 2, 64)
  for _, entry in ipairs(entries) do
    flat[#flat + 1] = entry[1]
    flat[#flat + 1] = entry[2][4]
    bytes = bytes + #entry[2][4]
  end
  taken = taken + #entries
  if most == 0 or #entries == 0 then break end
  from = '(' .. entries[#entries][1]
end
return { epoch, head, first, flat }
`;

/**
 * The bytes of the events of up to `count` entries after a position, from the totals the
 * first and the last of them keep (`c`, see COMMIT_SCRIPT): two entries read, whatever lies
 * between. KEYS: project log. ARGV: after seq, count. Returns the bytes, or -1 when an entry
 * keeps no total (logged before totals were kept).
 */
const LOG_BYTES_SCRIPT = `
local first = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+', 'COUNT', 1)
if #first == 0 then return 0 end
local from = tonumber(string.match(first[1][1], '^(%d+)'))
local last = redis.call('XREVRANGE', KEYS[1], (from + tonumber(ARGV[2]) - 1) .. '-0', '-', 'COUNT', 1)
local through_first, through_last = first[1][2][6], last[1][2][6]
if not through_first or not through_last then return -1 end
return tonumber(through_last) - tonumber(through_first) + #first[1][2][4]
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

/**
 * Removes a project from the set of active projects unless an instance named it again
 * since `before`. KEYS: the set. ARGV: project id, before (ms).
 */
const FORGET_PROJECT_SCRIPT = `
local named = redis.call('ZSCORE', KEYS[1], ARGV[1])
if named and tonumber(named) < tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`;

/**
 * Drops a batch of expired idempotency records from a project's head (see LUA_IDEMPOTENCY),
 * for a project that no commit prunes any more. KEYS: project head. ARGV: cursor, the
 * oldest generation kept, batch size. Returns the cursor to go on from ('0': done).
 */
const PRUNE_RECORDS_SCRIPT = `${LUA_IDEMPOTENCY}
local cursor = prune_records(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
if cursor == '0' and redis.call('EXISTS', KEYS[1]) == 1 then
  local oldest = redis.call('HGET', KEYS[1], 'kg')
  if oldest and tonumber(oldest) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'kg', ARGV[2]) end
end
return cursor
`;

/** Projects whose registration time an instance remembers. */
const SLOTS_REGISTERED = 10_000;
/** Digits of a record's expiry time (ms), enough for any date a window can reach. */
const EXPIRY_DIGITS = 15;
/** What IDEMPOTENCY_WINDOW_SECONDS defaults to. */
const DEFAULT_IDEMPOTENCY_WINDOW_MS = 86_400_000;
/** Idle projects one sweep drops the records of, and head fields one script call looks at. */
const PRUNED_PER_SWEEP = 100;
const PRUNE_BATCH = 1000;

type ScriptedRedis = (Redis | Cluster) & {
  commitChange(...args: Array<string | number>): Promise<['c', string, number] | ['r', string] | ['k'] | ['busy'] | null>;
  readLog(...args: Array<string | number>): Promise<[string, number, number, string[]]>;
  readList(...args: Array<string | number>): Promise<string[]>;
  readSnapshot(...args: Array<string | number>): Promise<[string, number, string[], string[], string[]]>;
  appendContent(...args: Array<string | number>): Promise<[ContentAppend['outcome'], number?, number?, string?, string?, number?, string?]>;
  forgetProject(...args: Array<string | number>): Promise<number>;
  pruneRecords(...args: Array<string | number>): Promise<string>;
  flushContent(...args: Array<string | number>): Promise<[string, number, string] | null>;
  readStreams(...args: Array<string | number>): Promise<Array<[string, string, string, string]>>;
  readItems(...args: Array<string | number>): Promise<Array<string | null>>;
  logBytes(...args: Array<string | number>): Promise<number>;
};

const SNAPSHOT_KINDS = ['ingestJob', 'agentRun', 'workflowRun'] as const satisfies readonly EntityKind[];

/**
 * Replies of a cluster that cannot serve the slot now (no master for it, a failover or a
 * slot migration under way): the command was refused, so like an unsent one it did nothing.
 */
const CLUSTER_UNAVAILABLE = /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|READONLY) /;

/**
 * ioredis' words for a command it refused to send (the connection is down and commands do
 * not queue): such a command cannot have done anything.
 */
const NOT_SENT = /isn't writeable|Cluster isn't ready|None of startup nodes is available/;

/**
 * A Redis error that is not a reply to a command is a connection problem or a deadline:
 * the caller is told the store did not answer, and the raw error stays in the log. A read
 * changes nothing, so a change whose read failed was not applied.
 */
function unavailable(error: unknown): never {
  if (error instanceof Error && error.name === 'ReplyError' && !CLUSTER_UNAVAILABLE.test(error.message)) throw error;
  throw new DomainError('SERVICE_UNAVAILABLE', 'the event store did not answer and nothing was changed; try again shortly', undefined, {
    outcome: 'NOT_APPLIED',
  }, { cause: error });
}

/**
 * `unavailable` for a command that changes state. A command refused before it was sent
 * changed nothing; one whose reply was lost or late (a dropped connection, the command
 * deadline) may have been applied. Only a retry with the same idempotency key (or, for
 * streamed text, the same offset) is then safe: it applies the change once, or answers what
 * the first attempt committed.
 */
function changeUnconfirmed(error: unknown): never {
  if (error instanceof Error && error.name === 'ReplyError' && !CLUSTER_UNAVAILABLE.test(error.message)) throw error;
  const notApplied = error instanceof Error && (NOT_SENT.test(error.message) || CLUSTER_UNAVAILABLE.test(error.message));
  throw new DomainError(
    'SERVICE_UNAVAILABLE',
    notApplied
      ? 'the event store is unreachable and the change was not applied; retry it (with the same Idempotency-Key)'
      : 'the event store did not confirm the change in time: it may or may not have been applied; retry with the same Idempotency-Key (or offset) to apply it exactly once',
    undefined,
    { outcome: notApplied ? 'NOT_APPLIED' : 'UNKNOWN' },
    { cause: error },
  );
}

/**
 * State and event logs in Redis, so every instance answers alike. Key layout: see
 * `createRedisKeys`; every key a script touches is in its project's hash slot, so the
 * store runs on one Redis and on a Redis Cluster alike.
 *
 * @param client a command client (one Redis or a Cluster) the caller owns and closes
 */
export function createRedisStateStore(
  client: Redis | Cluster,
  options: {
    prefix: string;
    retention: Retention;
    now?: () => number;
    /**
     * Keep each project's open entities by the time of their last change, for finding work
     * whose producer vanished; a project is named in the set of active projects again after
     * `registerEveryMs` by each instance that writes to it.
     */
    activity?: { registerEveryMs: number };
    /** How long idempotency records are kept (the generations records are kept in follow it). */
    idempotencyWindowMs?: number;
  },
): StateStore {
  const { prefix, retention, now = Date.now, activity, idempotencyWindowMs = DEFAULT_IDEMPOTENCY_WINDOW_MS } = options;
  const trackActivity = activity !== undefined;
  /** When this instance last named each project in the set of active projects. */
  const registered = new Map<string, number>();
  const redis = client as ScriptedRedis;
  if (!redis.commitChange) {
    // Only a cluster node knows CLUSTER MYID (one Redis has no failover of its own to
    // fence), and a cluster's channels are sharded, published with SPUBLISH.
    const lua = (script: string) =>
      redis.isCluster
        ? script.replace('local fence_by_node = false', 'local fence_by_node = true').replace("local publish_command = 'PUBLISH'", "local publish_command = 'SPUBLISH'")
        : script;
    redis.defineCommand('commitChange', { lua: lua(COMMIT_SCRIPT) });
    redis.defineCommand('readLog', { numberOfKeys: 2, lua: lua(READ_LOG_SCRIPT) });
    redis.defineCommand('readList', { numberOfKeys: 2, lua: LIST_SCRIPT });
    redis.defineCommand('readSnapshot', { numberOfKeys: 3 + SNAPSHOT_KINDS.length, lua: lua(SNAPSHOT_SCRIPT) });
    redis.defineCommand('appendContent', { numberOfKeys: 8, lua: lua(APPEND_CONTENT_SCRIPT) });
    redis.defineCommand('flushContent', { numberOfKeys: 6, lua: lua(FLUSH_CONTENT_SCRIPT) });
    redis.defineCommand('readStreams', { numberOfKeys: 1, lua: READ_STREAMS_SCRIPT });
    redis.defineCommand('readItems', { numberOfKeys: 1, lua: READ_ITEMS_SCRIPT });
    redis.defineCommand('logBytes', { numberOfKeys: 1, lua: LOG_BYTES_SCRIPT });
    redis.defineCommand('forgetProject', { numberOfKeys: 1, lua: FORGET_PROJECT_SCRIPT });
    redis.defineCommand('pruneRecords', { numberOfKeys: 1, lua: PRUNE_RECORDS_SCRIPT });
  }

  const redisKeys = createRedisKeys(prefix);
  const generationOf = (time: number) => Math.floor(time / idempotencyWindowMs);
  /** The head fields a key's record may be in at `time`: its generation's, and the one before's. */
  const recordFields = (key: string, time: number) => {
    const generation = generationOf(time);
    return { field: `${generation}:${key}`, previous: `${generation - 1}:${key}`, generation };
  };
  const expiresAt = (record: IdempotencyRecord, time: number) => String(time + record.windowMs).padStart(EXPIRY_DIGITS, '0');
  /** The generation in which this instance last named each project in the set of projects with records. */
  const namedWithRecords = new Map<string, number>();
  /**
   * Names the project among those with idempotency records before its first record of a
   * generation, so the sweep finds it once it stops writing; once per generation per instance.
   */
  async function nameWithRecords(projectId: string, time: number): Promise<void> {
    const generation = generationOf(time);
    if (namedWithRecords.get(projectId) === generation) return;
    await redis.zadd(redisKeys.projectsWithRecords(), time, projectId).catch(unavailable);
    namedWithRecords.delete(projectId);
    namedWithRecords.set(projectId, generation);
    if (namedWithRecords.size > SLOTS_REGISTERED) namedWithRecords.delete(namedWithRecords.keys().next().value!);
  }
  const ageCutoff = () => (retention.maxAgeMs > 0 ? now() - retention.maxAgeMs : 0);

  const record = (json: string, seq: number, epoch: string) =>
    ({ ...(JSON.parse(json) as EventDraft), seq, epoch }) as EventRecord;
  /** The start of a delta event's JSON, which the script that sends it completes. */
  const deltaDraft = (projectId: string, occurredAt: string) => JSON.stringify({ type: 'AGENT_MESSAGE_DELTA', projectId, occurredAt }).slice(0, -1);

  async function readLog(projectId: string, afterSeq: number, limit: number, maxBytes?: number): Promise<LogPage> {
    const [epoch, headSeq, firstSeq, flat] = await redis
      .readLog(redisKeys.head(projectId), redisKeys.log(projectId), afterSeq, limit, newEpoch(), ageCutoff(), maxBytes === undefined ? 0 : Math.max(1, maxBytes))
      .catch(unavailable);
    const events: EventRecord[] = [];
    // Sizes only for a reader with a budget: a replay's pages, per subscriber, need none.
    const sizes: number[] | undefined = maxBytes === undefined ? undefined : [];
    for (let index = 0; index < flat.length; index += 2) {
      const json = flat[index + 1]!;
      events.push(record(json, Number(flat[index]!.split('-')[0]), epoch));
      sizes?.push(json.length);
    }
    return { epoch, headSeq: Number(headSeq), firstSeq: Number(firstSeq), events, sizes };
  }

  return {
    async get<K extends EntityKind>(kind: K, id: string) {
      const [version, json, expiresAt] = await redis.hmget(redisKeys.entity(kind, id), 'v', 'd', 'x').catch(unavailable);
      if (version == null || json == null) return undefined;
      if (expiresAt != null && Number(expiresAt) <= now()) return undefined;
      return { value: JSON.parse(json) as Entities[K], version: Number(version) };
    },
    async list<K extends EntityKind>(kind: K, projectId: string) {
      const values = await redis
        .readList(redisKeys.finished(projectId), redisKeys.index(kind, projectId), now(), redisKeys.entityPrefix(projectId), redisKeys.projectPrefix(projectId), kind)
        .catch(unavailable);
      return values.map((json) => JSON.parse(json) as Entities[K]);
    },
    async members<C extends KeyedCollection>(collection: C, id: string, keys?: readonly string[]) {
      const key = redisKeys.collection(collection, id);
      let values: Array<string | null>;
      if (keys === undefined) values = Object.values(await redis.hgetall(key).catch(unavailable));
      else if (keys.length === 0) values = [];
      else values = await redis.hmget(key, ...keys).catch(unavailable);
      const members = values.flatMap((json) => (json == null ? [] : [JSON.parse(json) as KeyedCollections[C]]));
      return members.sort((a, b) => a.index - b.index);
    },
    async items<C extends AppendedCollection>(collection: C, id: string, start: number, end: number, maxBytes?: number) {
      if (end <= start) return [];
      // A streaming message's item holds no content; its content so far is in its own string.
      const flat = await redis
        .readItems(redisKeys.collection(collection, id), Math.max(0, start), end - 1, redisKeys.content(id, ''), maxBytes === undefined ? 0 : Math.max(1, maxBytes))
        .catch(unavailable);
      if (flat.length === 1) throw new PageTooLarge(`items ${start}-${end} of ${collection} of ${id} are larger than ${maxBytes} bytes`);
      const items: Array<AppendedCollections[C]> = [];
      for (let index = 0; index < flat.length; index += 2) {
        const item = JSON.parse(flat[index]!) as AppendedCollections[C];
        const content = flat[index + 1];
        if (typeof content === 'string') item.content = content;
        items.push(item);
      }
      return items;
    },
    async commit(change) {
      if (!redisKeys.sameSlot(change.id, change.projectId)) {
        // Its keys would be in another slot than its project's: a cluster refuses such a script.
        throw new Error(`${change.kind} id "${change.id}" was not made by newEntityId for project "${change.projectId}"`);
      }
      const collectionKeys: string[] = [];
      const writes: Array<string | number> = [];
      const keyIndex = (key: string) => {
        let position = collectionKeys.indexOf(key);
        if (position === -1) position = collectionKeys.push(key) - 1;
        return 7 + position;
      };
      const write = (op: string, key: string, ...values: Array<string | number>) =>
        writes.push(op, keyIndex(key), ...values, ...Array<string>(5 - values.length).fill(''));
      for (const { collection, key, value } of change.put ?? []) write('h', redisKeys.collection(collection, change.id), key, JSON.stringify(value));
      for (const { collection, value } of change.append ?? []) write('l', redisKeys.collection(collection, change.id), '', JSON.stringify(value));
      if (change.openStream) {
        const { messageId, message } = change.openStream;
        write('o', redisKeys.streams(change.id), messageId, JSON.stringify({ ...message, content: '' }));
      }
      for (const { stream, message, messageCount } of change.completeStreams ?? []) {
        const bytes = Buffer.byteLength(stream.message.content, 'utf8');
        write('f', redisKeys.streams(change.id), stream.messageId, JSON.stringify(message), bytes, stream.emitted, message.index - messageCount);
      }
      const { idempotency } = change;
      const time = now();
      if (activity && !change.finished && time - (registered.get(change.projectId) ?? -Infinity) >= activity.registerEveryMs) {
        // Named before the commit: a project whose commit is tracked is always found.
        await redis.zadd(redisKeys.activeProjects(), time, change.projectId).catch(unavailable);
        registered.delete(change.projectId);
        registered.set(change.projectId, time);
        if (registered.size > SLOTS_REGISTERED) registered.delete(registered.keys().next().value!);
      }
      if (idempotency) await nameWithRecords(change.projectId, time);
      const fields = recordFields(idempotency?.key ?? '', time);
      const keys = [
        redisKeys.entity(change.kind, change.id),
        redisKeys.index(change.kind, change.projectId),
        redisKeys.head(change.projectId),
        redisKeys.log(change.projectId),
        redisKeys.finished(change.projectId),
        redisKeys.active(change.projectId),
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
          change.finished ? 1 : 0,
          retention.finishedMs,
          change.kind,
          redisKeys.entityPrefix(change.projectId),
          redisKeys.projectPrefix(change.projectId),
          change.events.length,
          writes.length / 7,
          redisKeys.channel(change.projectId, redis.isCluster),
          idempotency?.fingerprint ?? '',
          idempotency?.answer ?? '',
          idempotency ? expiresAt(idempotency, time) : '',
          newEpoch(),
          trackActivity ? 1 : '',
          change.ifIdleSince ?? '',
          fields.field,
          fields.previous,
          fields.generation,
          ...change.events.map((draft) => JSON.stringify(draft)),
          ...writes,
        )
        .catch(changeUnconfirmed);
      if (reply === null) {
        throw new VersionConflictError(`${change.kind} ${change.id} changed since version ${change.expectedVersion}`);
      }
      if (reply[0] === 'busy') throw new EntityNotIdle(`${change.kind} ${change.id} changed since ${change.ifIdleSince}`);
      if (reply[0] === 'r') throw new IdempotentReplay(reply[1]);
      if (reply[0] === 'k') throw new IdempotencyKeyReused(`idempotency key ${idempotency!.key} was used with other input`);
      const [, epoch, last] = reply;
      const first = Number(last) - change.events.length + 1;
      return change.events.map((draft, index) => ({ ...draft, seq: first + index, epoch }) as EventRecord);
    },
    async activeProjects() {
      return redis.zrange(redisKeys.activeProjects(), 0, -1).catch(unavailable);
    },
    async idleEntities(projectId, sinceMs, limit) {
      const members = await redis.zrangebyscore(redisKeys.active(projectId), '-inf', sinceMs, 'LIMIT', 0, limit).catch(unavailable);
      return members.map((member) => {
        const at = member.indexOf(':');
        return { kind: member.slice(0, at) as EntityKind, id: member.slice(at + 1) };
      });
    },
    async forgetActive(projectId, { kind, id }) {
      await redis.zrem(redisKeys.active(projectId), `${kind}:${id}`).catch(unavailable);
    },
    async forgetIfInactive(projectId, beforeMs) {
      if ((await redis.zcard(redisKeys.active(projectId)).catch(unavailable)) > 0) return;
      await redis.forgetProject(redisKeys.activeProjects(), projectId, beforeMs).catch(unavailable);
    },
    async recall(projectId, key) {
      const time = now();
      const { field, previous } = recordFields(key, time);
      for (const recorded of await redis.hmget(redisKeys.head(projectId), field, previous).catch(unavailable)) {
        if (recorded === null || Number(recorded.slice(FINGERPRINT_LENGTH, FINGERPRINT_LENGTH + EXPIRY_DIGITS)) <= time) continue;
        return { fingerprint: recorded.slice(0, FINGERPRINT_LENGTH), answer: recorded.slice(FINGERPRINT_LENGTH + EXPIRY_DIGITS) };
      }
      return undefined;
    },
    async pruneRecords() {
      // A project last named over two windows ago wrote its last record over a window ago.
      const time = now();
      const before = time - 2 * idempotencyWindowMs;
      const projects = await redis.zrangebyscore(redisKeys.projectsWithRecords(), '-inf', `(${before}`, 'LIMIT', 0, PRUNED_PER_SWEEP).catch(unavailable);
      for (const projectId of projects) {
        let cursor = '0';
        do {
          cursor = await redis.pruneRecords(redisKeys.head(projectId), cursor, generationOf(time) - 1, PRUNE_BATCH).catch(unavailable);
        } while (cursor !== '0');
        await redis.forgetProject(redisKeys.projectsWithRecords(), projectId, before).catch(unavailable);
      }
      return projects.length;
    },
    async appendContent(runId, messageId, text, { projectId, maxLength, windowMs, occurredAt, offset: at, idempotency }) {
      if (!redisKeys.sameSlot(runId, projectId)) {
        throw new Error(`agent run id "${runId}" was not made by newEntityId for project "${projectId}"`);
      }
      const time = now();
      if (idempotency) await nameWithRecords(projectId, time);
      const fields = recordFields(idempotency?.key ?? '', time);
      const [outcome, offset, flushIn, message, epoch, seq, event] = await redis
        .appendContent(
          redisKeys.entity('agentRun', runId),
          redisKeys.streams(runId),
          redisKeys.content(runId, messageId),
          redisKeys.contentDue(runId, messageId),
          redisKeys.collection('messageIds', runId),
          redisKeys.head(projectId),
          redisKeys.active(projectId),
          redisKeys.log(projectId),
          messageId,
          text,
          text.length,
          maxLength,
          windowMs,
          at ?? '',
          idempotency?.fingerprint ?? '',
          idempotency ? expiresAt(idempotency, time) : '',
          newEpoch(),
          trackActivity ? time : '',
          `agentRun:${runId}`,
          fields.field,
          fields.previous,
          fields.generation,
          time,
          deltaDraft(projectId, occurredAt),
          retention.maxEvents,
          ageCutoff(),
          redisKeys.channel(projectId, redis.isCluster),
          FLUSH_GRACE_MS,
        )
        .catch(changeUnconfirmed);
      if (outcome === 'too-long' || outcome === 'offset-mismatch') return { outcome, length: Number(offset) };
      if (outcome !== 'appended' && outcome !== 'replayed') return { outcome };
      const { content: _content, ...started } = JSON.parse(message!) as AgentMessageRecord;
      const flushInMs = Number(flushIn);
      return {
        outcome,
        offset: Number(offset),
        message: started,
        ...(flushInMs >= 0 ? { flushInMs } : {}),
        ...(event !== undefined ? { event: record(event, Number(seq), epoch!) } : {}),
      };
    },
    async flushContent(runId, messageId, { projectId, occurredAt }) {
      const reply = await redis
        .flushContent(
          redisKeys.entity('agentRun', runId),
          redisKeys.streams(runId),
          redisKeys.content(runId, messageId),
          redisKeys.contentDue(runId, messageId),
          redisKeys.head(projectId),
          redisKeys.log(projectId),
          messageId,
          deltaDraft(projectId, occurredAt),
          newEpoch(),
          now(),
          retention.maxEvents,
          ageCutoff(),
          redisKeys.channel(projectId, redis.isCluster),
        )
        .catch(changeUnconfirmed);
      if (reply === null) return undefined;
      const [epoch, seq, json] = reply;
      return record(json, Number(seq), epoch);
    },
    async streams(runId, messageId) {
      const replies = await redis.readStreams(redisKeys.streams(runId), redisKeys.content(runId, ''), messageId ?? '').catch(unavailable);
      return replies.map(([id, message, emitted, content]) => ({
        messageId: id,
        message: { ...(JSON.parse(message) as AgentMessageRecord), content },
        emitted: Number(emitted),
      }));
    },
    async head(projectId) {
      const page = await readLog(projectId, 0, 0);
      return { epoch: page.epoch, seq: page.headSeq };
    },
    readLog,
    async logBytes(projectId, afterSeq, count) {
      const bytes = await redis.logBytes(redisKeys.log(projectId), afterSeq, count).catch(unavailable);
      return bytes < 0 ? undefined : bytes;
    },
    async snapshot(projectId) {
      const [epoch, seq, ...perKind] = await redis
        .readSnapshot(
          redisKeys.head(projectId),
          redisKeys.log(projectId),
          redisKeys.finished(projectId),
          ...SNAPSHOT_KINDS.map((kind) => redisKeys.index(kind, projectId)),
          newEpoch(),
          now(),
          redisKeys.entityPrefix(projectId),
          redisKeys.projectPrefix(projectId),
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
