import { randomBytes } from 'node:crypto';
import type { EventRecord } from '../events/event-record.js';
import type { Entities, EntityKind, LogRetention, StateStore, Versioned } from './state-store.js';
import { VersionConflictError } from './state-store.js';

interface StoredEntity {
  version: number;
  value: unknown;
}

interface ProjectLog {
  epoch: string;
  seq: number;
  /** Retained events, oldest first; `start` skips the dropped prefix until it is compacted. */
  events: Array<{ at: number; event: EventRecord }>;
  start: number;
}

const newEpoch = () => randomBytes(6).toString('base64url');

/**
 * The in-process store: the same contract as the Redis one, with each project's log a
 * bounded ring. Values are copied on the way in and out, so no caller can change stored
 * state without a commit.
 */
export function createMemoryStateStore(retention: LogRetention, now: () => number = Date.now): StateStore {
  const entities = new Map<string, StoredEntity>();
  const projectIndex = new Map<string, string[]>();
  const logs = new Map<string, ProjectLog>();

  const entityKey = (kind: EntityKind, id: string) => `${kind}:${id}`;
  const indexKey = (kind: EntityKind, projectId: string) => `${kind}:${projectId}`;

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

  function list<K extends EntityKind>(kind: K, projectId: string): Array<Entities[K]> {
    const ids = projectIndex.get(indexKey(kind, projectId)) ?? [];
    return ids.map((id) => structuredClone(entities.get(entityKey(kind, id))!.value) as Entities[K]);
  }

  return {
    async get<K extends EntityKind>(kind: K, id: string) {
      const stored = entities.get(entityKey(kind, id));
      if (!stored) return undefined;
      return { value: structuredClone(stored.value), version: stored.version } as Versioned<Entities[K]>;
    },
    async list(kind, projectId) {
      return list(kind, projectId);
    },
    async commit(change) {
      const key = entityKey(change.kind, change.id);
      const current = entities.get(key)?.version ?? 0;
      if (current !== change.expectedVersion) {
        throw new VersionConflictError(`${key} is at version ${current}, not ${change.expectedVersion}`);
      }
      entities.set(key, { version: current + 1, value: structuredClone(change.value) });
      if (current === 0) {
        const index = indexKey(change.kind, change.projectId);
        const ids = projectIndex.get(index);
        if (ids) ids.push(change.id);
        else projectIndex.set(index, [change.id]);
      }
      const log = logOf(change.projectId);
      const at = now();
      const records = change.events.map((draft) => {
        const event = { ...draft, seq: ++log.seq, epoch: log.epoch } as EventRecord;
        log.events.push({ at, event });
        return event;
      });
      trim(log);
      return records;
    },
    async head(projectId) {
      const { epoch, seq } = logOf(projectId);
      return { epoch, seq };
    },
    async readLog(projectId, afterSeq, limit) {
      const log = logOf(projectId);
      trim(log);
      const retained = log.events.length - log.start;
      const firstSeq = log.seq - retained + 1;
      const from = log.start + Math.max(0, afterSeq + 1 - firstSeq);
      const events = log.events.slice(from, from + limit).map((entry) => entry.event);
      return { epoch: log.epoch, headSeq: log.seq, firstSeq, events };
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
