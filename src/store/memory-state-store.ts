import { randomBytes } from 'node:crypto';
import type { EventRecord, LogPosition } from '../events/event-record.js';
import type { Entities, EntityKind, StateStore, Versioned } from './state-store.js';
import { VersionConflictError } from './state-store.js';

interface StoredEntity {
  projectId: string;
  version: number;
  value: unknown;
}

/**
 * The in-process store. Values are copied on the way in and out, so no caller can change
 * stored state without a commit.
 */
export function createMemoryStateStore(): StateStore {
  const entities = new Map<string, StoredEntity>();
  const projectIndex = new Map<string, string[]>();
  const heads = new Map<string, LogPosition>();
  // One epoch per process: a restart loses the in-process log, and cursors from before it
  // must be recognisable as such.
  const epoch = randomBytes(6).toString('base64url');

  const entityKey = (kind: EntityKind, id: string) => `${kind}:${id}`;
  const indexKey = (kind: EntityKind, projectId: string) => `${kind}:${projectId}`;

  return {
    async get<K extends EntityKind>(kind: K, id: string) {
      const stored = entities.get(entityKey(kind, id));
      if (!stored) return undefined;
      return { value: structuredClone(stored.value), version: stored.version } as Versioned<Entities[K]>;
    },
    async list<K extends EntityKind>(kind: K, projectId: string) {
      const ids = projectIndex.get(indexKey(kind, projectId)) ?? [];
      return ids.map((id) => structuredClone(entities.get(entityKey(kind, id))!.value) as Entities[K]);
    },
    async commit(change) {
      const key = entityKey(change.kind, change.id);
      const current = entities.get(key)?.version ?? 0;
      if (current !== change.expectedVersion) {
        throw new VersionConflictError(`${key} is at version ${current}, not ${change.expectedVersion}`);
      }
      entities.set(key, { projectId: change.projectId, version: current + 1, value: structuredClone(change.value) });
      if (current === 0) {
        const index = indexKey(change.kind, change.projectId);
        const ids = projectIndex.get(index);
        if (ids) ids.push(change.id);
        else projectIndex.set(index, [change.id]);
      }
      let seq = heads.get(change.projectId)?.seq ?? 0;
      const records = change.events.map((draft) => ({ ...draft, seq: ++seq, epoch }) as EventRecord);
      heads.set(change.projectId, { epoch, seq });
      return records;
    },
    async head(projectId) {
      return heads.get(projectId);
    },
  };
}
