import { requireRead, requireWrite, visibleTo } from '../auth/viewer.js';
import { badUserInput } from '../errors.js';
import type { IngestJobEventRecord } from '../events/event-record.js';
import { isIngestJobEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { idempotentCall } from '../idempotency/request-idempotency.js';

export const ingestResolvers: Resolvers = {
  Query: {
    ingestJob: async (_, { id }, { ingest, viewer }) => visibleTo(viewer, await ingest.get(id)),
    ingestJobs: (_, { projectId }, { ingest, viewer }) => {
      requireRead(viewer, projectId);
      return ingest.list(projectId);
    },
  },
  Mutation: {
    createIngestJob: (_, args, { ingest, viewer, idempotency }, info) => {
      requireWrite(viewer, args.projectId);
      return ingest.create(args, idempotentCall(idempotency, info));
    },
    updateIngestJobProgress: (_, args, { ingest, access, idempotency }, info) =>
      ingest.updateProgress(args, access, idempotentCall(idempotency, info)),
    completeIngestJob: (_, { id }, { ingest, access, idempotency }, info) => ingest.complete(id, access, idempotentCall(idempotency, info)),
    failIngestJob: (_, { id, error }, { ingest, access, idempotency }, info) =>
      ingest.fail(id, error, access, idempotentCall(idempotency, info)),
  },
  Subscription: {
    ingestJob: {
      subscribe: (_, { projectId, jobId, after, coalesceMs }, context) => {
        if (coalesceMs != null && (!Number.isInteger(coalesceMs) || coalesceMs < 10 || coalesceMs > 60_000)) {
          throw badUserInput('coalesceMs', `must be from 10 to 60000, got ${coalesceMs}`);
        }
        return context.streams.open(context, {
          field: 'ingestJob',
          projectId,
          after,
          accepts: (event): event is IngestJobEventRecord =>
            isIngestJobEvent(event) && (jobId == null || event.job.id === jobId),
          coalesce:
            coalesceMs == null
              ? undefined
              : { ms: coalesceMs, keyOf: (event) => (event.type === 'INGEST_JOB_UPDATED' ? event.job.id : undefined) },
        });
      },
      resolve: (event: IngestJobEventRecord) => event,
    },
  },
};
