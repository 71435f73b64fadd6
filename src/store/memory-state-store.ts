import type { EventRecord } from '../events/event-record.js';
import type { AgentMessageRecord, AgentRunRecord } from './records.js';
import type {
  AppendedCollections,
  Entities,
  EntityKind,
  KeyedCollections,
  Retention,
  StateStore,
  Versioned,
} from './state-store.js';
import type { ActiveEntity, IdempotencyRecord, RecordedAnswer } from './state-store.js';
import { COLLECTIONS_OF, EntityNotIdle, FLUSH_GRACE_MS, IdempotencyKeyReused, IdempotentReplay, PageTooLarge, VersionConflictError } from './state-store.js';
import { newEpoch } from './epochs.js';

/** About the bytes of a stored message's JSON besides its content (ids, role, status, time). */
const ITEM_FIELDS_BYTES = 160;

interface StoredEntity {
  version: number;
  value: unknown;
  finished?: boolean;
  /** When a finished entity leaves the store, in ms; undefined while it is not finished. */
  expiresAt?: number;
}

interface Stream {
  message: AgentMessageRecord;
  content: string;
  emitted: number;
  /** Until when the caller that was told to flush is expected to; a later append takes over. */
  flushBy?: number;
  /** When the last delta went out (ms): its batching window starts there. */
  emittedAt?: number;
}

interface ProjectLog {
  epoch: string;
  seq: number;
  /** Retained events, oldest first; `start` skips the dropped prefix until it is compacted. */
  events: Array<{ at: number; event: EventRecord }>;
  start: number;
}

/**
 * The in-process store: the same contract as the Redis one, with each project's log a
 * bounded ring. Values are copied on the way in and out, so no caller can change stored
 * state without a commit; a commit copies only what it writes.
 *
 * @param announce receives each event once it is logged, as the Redis store publishes it
 *   (the in-process PubSub); by default nobody
 */
export function createMemoryStateStore(
  retention: Retention,
  now: () => number = Date.now,
  announce: (event: EventRecord) => void = () => {},
  options: {
    /** Keep each project's open entities by the time of their last change. @default false */
    trackActivity?: boolean;
  } = {},
): StateStore {
  const { trackActivity = false } = options;
  /** Per project, its open entities (`<kind>:<id>`) by the time of their last change. */
  const active = new Map<string, Map<string, number>>();
  /** Projects that may have open work, by when they were last written to. */
  const activeProjects = new Map<string, number>();
  const entities = new Map<string, StoredEntity>();
  const projectIndex = new Map<string, string[]>();
  const keyed = new Map<string, Map<string, unknown>>();
  const appended = new Map<string, unknown[]>();
  /** Per project, finished entities in the order they expire (the retention is one duration). */
  const expiring = new Map<string, Array<{ at: number; kind: EntityKind; id: string }>>();
  const logs = new Map<string, ProjectLog>();
  /** Streaming messages by run, then by message id. */
  const streaming = new Map<string, Map<string, Stream>>();
  /**
   * Idempotency records by project and key. One window for all, so insertion order is
   * expiry order: the expired ones are dropped from the front as new ones come.
   */
  const recorded = new Map<string, RecordedAnswer & { expiresAt: number }>();

  const recordKey = (projectId: string, key: string) => `${projectId}\0${key}`;
  function recallRecord(projectId: string, key: string): RecordedAnswer | undefined {
    const time = now();
    for (const [oldest, entry] of recorded) {
      if (entry.expiresAt > time) break;
      recorded.delete(oldest);
    }
    const entry = recorded.get(recordKey(projectId, key));
    return entry && entry.expiresAt > time ? { fingerprint: entry.fingerprint, answer: entry.answer } : undefined;
  }
  /** What the Redis scripts do first: a recorded key answers instead of the change. */
  function checkRecord(projectId: string, idempotency: IdempotencyRecord | undefined): RecordedAnswer | undefined {
    if (!idempotency) return undefined;
    const entry = recallRecord(projectId, idempotency.key);
    if (entry && entry.fingerprint !== idempotency.fingerprint) {
      throw new IdempotencyKeyReused(`idempotency key ${idempotency.key} was used with other input`);
    }
    return entry;
  }
  function writeRecord(projectId: string, idempotency: IdempotencyRecord | undefined, answer: string): void {
    if (!idempotency) return;
    const key = recordKey(projectId, idempotency.key);
    recorded.delete(key);
    recorded.set(key, { fingerprint: idempotency.fingerprint, answer, expiresAt: now() + idempotency.windowMs });
  }

  const entityKey = (kind: EntityKind, id: string) => `${kind}:${id}`;
  const indexKey = (kind: EntityKind, projectId: string) => `${kind}:${projectId}`;
  const collectionKey = (collection: string, id: string) => `${collection}:${id}`;
  const expired = (stored: StoredEntity | undefined) => stored?.expiresAt !== undefined && stored.expiresAt <= now();

  // Each project gets its own epoch, as in Redis, so a cursor of one project is never
  // mistaken for a position in another's log; a restart starts new epochs.
  function logOf(projectId: string): ProjectLog {
    let log = logs.get(projectId);
    if (!log) logs.set(projectId, (log = { epoch: newEpoch(), seq: 0, events: [], start: 0 }));
    return log;
  }

  function trim(log: ProjectLog): void {
    const cutoff = retention.maxAgeMs > 0 ? now() - retention.maxAgeMs : -Infinity;
    const excess = retention.maxEvents > 0 ? log.events.length - log.start - retention.maxEvents : 0;
    let start = log.start + Math.max(0, excess);
    while (start < log.events.length && log.events[start]!.at < cutoff) start++;
    log.start = start;
    if (log.start > 1024 && log.start * 2 > log.events.length) {
      log.events = log.events.slice(log.start);
      log.start = 0;
    }
  }

  /** Logs and announces what a streaming message stored since its last delta, as one delta; undefined when nothing is pending. */
  function emitDelta(runId: string, messageId: string, stream: Stream, projectId: string, occurredAt: string, time: number): EventRecord | undefined {
    if (stream.emitted >= stream.content.length) return undefined;
    const messageDelta = { messageId, offset: stream.emitted, text: stream.content.slice(stream.emitted) };
    stream.emitted = stream.content.length;
    stream.emittedAt = time;
    const run = structuredClone(entities.get(entityKey('agentRun', runId))!.value) as AgentRunRecord;
    const log = logOf(projectId);
    const event = { type: 'AGENT_MESSAGE_DELTA', projectId, occurredAt, run, messageDelta, seq: ++log.seq, epoch: log.epoch } as EventRecord;
    log.events.push({ at: time, event });
    trim(log);
    announce(event);
    return event;
  }

  /** Up to `count` retained events of a project's log after `afterSeq`, with where the retained ones start. */
  function retainedAfter(projectId: string, afterSeq: number, count: number) {
    const log = logOf(projectId);
    trim(log);
    const firstSeq = log.seq - (log.events.length - log.start) + 1;
    const from = log.start + Math.max(0, afterSeq + 1 - firstSeq);
    return { log, firstSeq, events: log.events.slice(from, from + count).map((entry) => entry.event) };
  }

  /** Removes the project's finished entities whose retention has passed, with their collections. */
  function purge(projectId: string): void {
    const queue = expiring.get(projectId);
    if (!queue) return;
    const time = now();
    let removed = 0;
    while (removed < queue.length && queue[removed]!.at <= time) {
      const { kind, id } = queue[removed++]!;
      entities.delete(entityKey(kind, id));
      streaming.delete(id);
      for (const collection of COLLECTIONS_OF[kind]) {
        keyed.delete(collectionKey(collection, id));
        appended.delete(collectionKey(collection, id));
      }
      const ids = projectIndex.get(indexKey(kind, projectId));
      const position = ids?.indexOf(id) ?? -1;
      if (position !== -1) ids!.splice(position, 1);
    }
    if (removed === queue.length) expiring.delete(projectId);
    else if (removed > 0) queue.splice(0, removed);
  }

  function list<K extends EntityKind>(kind: K, projectId: string): Array<Entities[K]> {
    purge(projectId);
    const ids = projectIndex.get(indexKey(kind, projectId)) ?? [];
    return ids.map((id) => structuredClone(entities.get(entityKey(kind, id))!.value) as Entities[K]);
  }

  return {
    async get<K extends EntityKind>(kind: K, id: string) {
      const stored = entities.get(entityKey(kind, id));
      if (!stored || expired(stored)) return undefined;
      return { value: structuredClone(stored.value), version: stored.version } as Versioned<Entities[K]>;
    },
    async list(kind, projectId) {
      return list(kind, projectId);
    },
    async members<C extends keyof KeyedCollections>(collection: C, id: string, keys?: readonly string[]) {
      const members = keyed.get(collectionKey(collection, id));
      if (!members) return [];
      const values = keys ? keys.flatMap((key) => (members.has(key) ? [members.get(key)] : [])) : [...members.values()];
      return structuredClone(values) as Array<KeyedCollections[C]>;
    },
    async items<C extends keyof AppendedCollections>(collection: C, id: string, start: number, end: number, maxBytes?: number) {
      const stored = (appended.get(collectionKey(collection, id)) ?? []) as Array<AppendedCollections[C]>;
      const items = stored.slice(Math.max(0, start), Math.max(0, end));
      // A streaming message's item holds no content; its content so far is in the stream.
      const streams = streaming.get(id);
      const contentOf = (item: AgentMessageRecord) => streams?.get(item.id)?.content ?? item.content;
      if (maxBytes !== undefined) {
        // The stored JSON's size, about: its content and a fixed share for the other fields.
        let bytes = 0;
        for (const item of items) bytes += ITEM_FIELDS_BYTES + Buffer.byteLength(contentOf(item));
        if (bytes > maxBytes) throw new PageTooLarge(`items ${start}-${end} of ${collection} of ${id} are larger than ${maxBytes} bytes`);
      }
      const slice = structuredClone(items);
      for (const item of slice) item.content = contentOf(item);
      return slice;
    },
    async commit(change) {
      const replay = checkRecord(change.projectId, change.idempotency);
      if (replay) throw new IdempotentReplay(replay.answer);
      const key = entityKey(change.kind, change.id);
      const stored = entities.get(key);
      const current = stored?.version ?? 0;
      if (current !== change.expectedVersion) {
        throw new VersionConflictError(`${key} is at version ${current}, not ${change.expectedVersion}`);
      }
      const projectActive = active.get(change.projectId);
      if (change.ifIdleSince !== undefined && (projectActive?.get(key) ?? 0) > change.ifIdleSince) {
        throw new EntityNotIdle(`${key} changed since ${change.ifIdleSince}`);
      }
      const streams = streaming.get(change.id);
      for (const { stream } of change.completeStreams ?? []) {
        const now = streams?.get(stream.messageId);
        if (!now || now.content.length !== stream.message.content.length || now.emitted !== stream.emitted) {
          throw new VersionConflictError(`message ${stream.messageId} received text since it was read`);
        }
      }
      const finished = stored?.finished || change.finished;
      const expiresAt = change.finished && retention.finishedMs > 0 ? now() + retention.finishedMs : stored?.expiresAt;
      entities.set(key, { version: current + 1, value: structuredClone(change.value), finished, expiresAt });
      if (current === 0) {
        const index = indexKey(change.kind, change.projectId);
        const ids = projectIndex.get(index);
        if (ids) ids.push(change.id);
        else projectIndex.set(index, [change.id]);
      }
      if (expiresAt !== undefined && stored?.expiresAt === undefined) {
        const queue = expiring.get(change.projectId);
        const entry = { at: expiresAt, kind: change.kind, id: change.id };
        if (queue) queue.push(entry);
        else expiring.set(change.projectId, [entry]);
      }
      for (const { collection, key: member, value } of change.put ?? []) {
        const members = keyed.get(collectionKey(collection, change.id));
        if (members) members.set(member, structuredClone(value));
        else keyed.set(collectionKey(collection, change.id), new Map([[member, structuredClone(value)]]));
      }
      for (const { collection, value } of change.append ?? []) {
        const items = appended.get(collectionKey(collection, change.id));
        if (items) items.push(structuredClone(value));
        else appended.set(collectionKey(collection, change.id), [structuredClone(value)]);
      }
      if (change.openStream) {
        const { messageId, message } = change.openStream;
        const runStreams = streaming.get(change.id) ?? new Map<string, Stream>();
        runStreams.set(messageId, { message: structuredClone(message), content: message.content, emitted: message.content.length });
        streaming.set(change.id, runStreams);
      }
      for (const { stream, message } of change.completeStreams ?? []) {
        appended.get(collectionKey('messages', change.id))![message.index] = structuredClone(message);
        streams!.delete(stream.messageId);
      }
      const log = logOf(change.projectId);
      const at = now();
      const records = change.events.map((draft) => {
        const event = { ...draft, seq: ++log.seq, epoch: log.epoch } as EventRecord;
        log.events.push({ at, event });
        return event;
      });
      trim(log);
      purge(change.projectId);
      writeRecord(change.projectId, change.idempotency, change.idempotency?.answer ?? JSON.stringify(change.value));
      if (change.finished) projectActive?.delete(key);
      else if (trackActivity) {
        {
          if (projectActive) projectActive.set(key, now());
          else active.set(change.projectId, new Map([[key, now()]]));
          activeProjects.set(change.projectId, now());
        }
      }
      records.forEach(announce);
      return records;
    },
    async activeProjects() {
      return [...activeProjects.keys()];
    },
    async idleEntities(projectId, sinceMs, limit) {
      const idle: ActiveEntity[] = [];
      for (const [member, at] of active.get(projectId) ?? []) {
        if (at > sinceMs) continue;
        const split = member.indexOf(':');
        idle.push({ kind: member.slice(0, split) as EntityKind, id: member.slice(split + 1) });
        if (idle.length >= limit) break;
      }
      return idle;
    },
    async forgetActive(projectId, { kind, id }) {
      active.get(projectId)?.delete(entityKey(kind, id));
    },
    async forgetIfInactive(projectId, beforeMs) {
      if ((active.get(projectId)?.size ?? 0) > 0) return;
      active.delete(projectId);
      if ((activeProjects.get(projectId) ?? Infinity) < beforeMs) activeProjects.delete(projectId);
    },
    async recall(projectId, key) {
      return recallRecord(projectId, key);
    },
    async appendContent(runId, messageId, text, { projectId, maxLength, windowMs, occurredAt, offset: at, idempotency }) {
      let replay: RecordedAnswer | undefined;
      try {
        replay = checkRecord(projectId, idempotency);
      } catch (error) {
        if (error instanceof IdempotencyKeyReused) return { outcome: 'key-reused' };
        throw error;
      }
      if (replay) {
        const [, offset, json] = /^(\d+):(.*)$/s.exec(replay.answer)!;
        return { outcome: 'replayed', offset: Number(offset), message: JSON.parse(json!) };
      }
      const run = entities.get(entityKey('agentRun', runId));
      if (!run || expired(run)) return { outcome: 'run-missing' };
      if (run.finished) return { outcome: 'run-finished' };
      const stream = streaming.get(runId)?.get(messageId);
      if (!stream) {
        const known = keyed.get(collectionKey('messageIds', runId))?.has(messageId);
        return { outcome: known ? 'message-complete' : 'message-missing' };
      }
      const { content: _content, ...message } = stream.message;
      const offset = stream.content.length;
      if (at !== undefined && at !== offset) {
        if (at < offset && at + text.length <= offset && stream.content.startsWith(text, at)) {
          return { outcome: 'replayed', offset: at, message: structuredClone(message) };
        }
        return { outcome: 'offset-mismatch', length: offset };
      }
      if (stream.content.length + text.length > maxLength) return { outcome: 'too-long', length: stream.content.length };
      stream.content += text;
      const time = now();
      let event: EventRecord | undefined;
      let flushInMs: number | undefined;
      if (stream.flushBy === undefined || stream.flushBy <= time) {
        const since = stream.emittedAt === undefined ? windowMs : time - stream.emittedAt;
        if (windowMs === 0 || since >= windowMs) {
          stream.flushBy = undefined;
          event = emitDelta(runId, messageId, stream, projectId, occurredAt, time);
        } else {
          flushInMs = windowMs - since;
          stream.flushBy = time + flushInMs + FLUSH_GRACE_MS;
        }
      }
      writeRecord(projectId, idempotency, `${offset}:${JSON.stringify(message)}`);
      const runActive = active.get(projectId);
      if (trackActivity && runActive?.has(entityKey('agentRun', runId))) runActive.set(entityKey('agentRun', runId), time);
      return { outcome: 'appended', offset, message: structuredClone(message), ...(event ? { event } : {}), ...(flushInMs !== undefined ? { flushInMs } : {}) };
    },
    async flushContent(runId, messageId, { projectId, occurredAt }) {
      const stream = streaming.get(runId)?.get(messageId);
      if (!stream) return undefined;
      stream.flushBy = undefined;
      return emitDelta(runId, messageId, stream, projectId, occurredAt, now());
    },
    async streams(runId, messageId) {
      const runStreams = streaming.get(runId);
      if (!runStreams) return [];
      const chosen = messageId === undefined ? [...runStreams.entries()] : runStreams.has(messageId) ? [[messageId, runStreams.get(messageId)!] as const] : [];
      return chosen.map(([id, stream]) => ({
        messageId: id,
        message: { ...structuredClone(stream.message), content: stream.content },
        emitted: stream.emitted,
      }));
    },
    async head(projectId) {
      const { epoch, seq } = logOf(projectId);
      return { epoch, seq };
    },
    async readLog(projectId, afterSeq, limit, maxBytes) {
      const { log, firstSeq, events } = retainedAfter(projectId, afterSeq, limit);
      if (maxBytes === undefined) return { epoch: log.epoch, headSeq: log.seq, firstSeq, events };
      // As the Redis log does: the page ends once it holds about `maxBytes` of JSON.
      const sizes: number[] = [];
      let bytes = 0;
      for (const event of events) {
        if (bytes >= maxBytes) break;
        sizes.push(JSON.stringify(event).length);
        bytes += sizes.at(-1)!;
      }
      return { epoch: log.epoch, headSeq: log.seq, firstSeq, events: events.slice(0, sizes.length), sizes };
    },
    async logBytes(projectId, afterSeq, count) {
      return retainedAfter(projectId, afterSeq, count).events.reduce((bytes, event) => bytes + JSON.stringify(event).length, 0);
    },
    async snapshot(projectId) {
      const { epoch, seq } = logOf(projectId);
      return {
        position: { epoch, seq },
        ingestJobs: list('ingestJob', projectId),
        agentRuns: list('agentRun', projectId),
        workflowRuns: list('workflowRun', projectId),
      };
    },
  };
}
