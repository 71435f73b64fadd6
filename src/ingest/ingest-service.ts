import type { Access } from '../auth/viewer.js';
import { SERVER_ACCESS } from '../auth/viewer.js';
import { badUserInput } from '../errors.js';
import type { IngestJobStatus } from '../generated/resolvers-types.js';
import { newEntityId } from '../store/entity-ids.js';
import type { ChangeApplier, EntityRules, IdempotentCall } from '../store/change-applier.js';
import type { IngestJobRecord as IngestJob } from '../store/records.js';
import type { StateStore } from '../store/state-store.js';
import { optionalCount, optionalText, requireId, requireText } from '../validation.js';

const FINAL_STATUSES: ReadonlySet<IngestJobStatus> = new Set(['COMPLETED', 'FAILED']);

const JOB_RULES: EntityRules<'ingestJob'> = {
  kind: 'ingestJob',
  label: 'Ingest job',
  finalStatus: (job) => (FINAL_STATUSES.has(job.status) ? job.status : undefined),
};

export interface IngestService {
  get(id: string): Promise<IngestJob | undefined>;
  list(projectId: string): Promise<IngestJob[]>;
  /** Every change takes an idempotency key's call, so that a repeat changes nothing and gets the first answer. */
  create(input: { projectId: string; source: string; totalItems?: number | null }, idempotent?: IdempotentCall): Promise<IngestJob>;
  updateProgress(
    input: { id: string; progress: number; processedItems?: number | null; message?: string | null },
    access: Access,
    idempotent?: IdempotentCall,
  ): Promise<IngestJob>;
  complete(id: string, access: Access, idempotent?: IdempotentCall): Promise<IngestJob>;
  fail(id: string, error: string, access: Access, idempotent?: IdempotentCall): Promise<IngestJob>;
  /** Fails a job that saw no change after `idleSince` (ms), with `reason`; see `createAbandonedWorkSweeper`. */
  abandon(id: string, idleSince: number, reason: string): Promise<IngestJob>;
}

export function createIngestService(
  dependencies: { store: StateStore; changes: ChangeApplier },
  now: () => Date = () => new Date(),
): IngestService {
  const { store, changes } = dependencies;

  /** Applies `change` to an existing job that has not reached a final status. */
  function changeJob(
    id: string,
    access: Access,
    action: string,
    change: (job: IngestJob, at: string) => { job: IngestJob; type: 'INGEST_JOB_UPDATED' | 'INGEST_JOB_COMPLETED' | 'INGEST_JOB_FAILED' },
    idempotent: IdempotentCall | undefined,
    ifIdleSince?: number,
  ): Promise<IngestJob> {
    return changes.update(JOB_RULES, id, access, action, (job) => {
      const at = now().toISOString();
      const next = change(job, at);
      return {
        projectId: job.projectId,
        value: next.job,
        finished: FINAL_STATUSES.has(next.job.status),
        events: [{ type: next.type, projectId: job.projectId, occurredAt: at, job: next.job }],
        ifIdleSince,
      };
    }, idempotent);
  }

  return {
    async get(id) {
      return (await store.get('ingestJob', id))?.value;
    },
    list(projectId) {
      return store.list('ingestJob', requireId('projectId', projectId));
    },
    create(input, idempotent) {
      const projectId = requireId('projectId', input.projectId);
      const source = requireText('source', input.source, 2048);
      const totalItems = optionalCount('totalItems', input.totalItems);
      const id = newEntityId(projectId);
      return changes.apply('ingestJob', id, () => {
        const at = now().toISOString();
        const job: IngestJob = {
          id,
          projectId,
          source,
          status: 'PENDING',
          progress: 0,
          message: null,
          processedItems: null,
          totalItems,
          error: null,
          createdAt: at,
          updatedAt: at,
        };
        return { projectId, value: job, events: [{ type: 'INGEST_JOB_CREATED', projectId, occurredAt: at, job }] };
      }, idempotent && { ...idempotent, projectId });
    },
    updateProgress(input, access, idempotent) {
      const { id, progress } = input;
      if (!Number.isFinite(progress) || progress < 0 || progress > 1) {
        throw badUserInput('progress', `must be between 0 and 1, got ${progress}`);
      }
      const processedItems = optionalCount('processedItems', input.processedItems);
      const message = optionalText('message', input.message, 2048);
      return changeJob(id, access, 'update progress of', (job, at) => {
        if (processedItems !== null && job.totalItems != null && processedItems > job.totalItems) {
          throw badUserInput('processedItems', `must not exceed totalItems (${job.totalItems}), got ${processedItems}`);
        }
        return {
          type: 'INGEST_JOB_UPDATED',
          job: {
            ...job,
            status: 'RUNNING',
            progress,
            processedItems: processedItems ?? job.processedItems ?? null,
            message: message ?? job.message ?? null,
            updatedAt: at,
          },
        };
      }, idempotent);
    },
    complete(id, access, idempotent) {
      return changeJob(id, access, 'complete', (job, at) => ({
        type: 'INGEST_JOB_COMPLETED',
        job: { ...job, status: 'COMPLETED', progress: 1, updatedAt: at },
      }), idempotent);
    },
    fail(id, error, access, idempotent) {
      const reason = requireText('error', error, 4096);
      return changeJob(id, access, 'fail', (job, at) => ({
        type: 'INGEST_JOB_FAILED',
        job: { ...job, status: 'FAILED', error: reason, updatedAt: at },
      }), idempotent);
    },
    abandon(id, idleSince, reason) {
      return changeJob(id, SERVER_ACCESS, 'fail', (job, at) => ({
        type: 'INGEST_JOB_FAILED',
        job: { ...job, status: 'FAILED', error: reason, updatedAt: at },
      }), undefined, idleSince);
    },
  };
}
