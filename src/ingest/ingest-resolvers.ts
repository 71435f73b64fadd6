import { requireRead, requireWrite, visibleTo } from '../auth/viewer.js';
import type { IngestJobEventRecord } from '../events/event-record.js';
import { isIngestJobEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const ingestResolvers: Resolvers = {
  Query: {
    ingestJob: async (_, { id }, { ingest, viewer }) => visibleTo(viewer, await ingest.get(id)),
    ingestJobs: (_, { projectId }, { ingest, viewer }) => {
      requireRead(viewer, projectId);
      return ingest.list(projectId);
    },
  },
  Mutation: {
    createIngestJob: (_, args, { ingest, viewer }) => {
      requireWrite(viewer, args.projectId);
      return ingest.create(args);
    },
    updateIngestJobProgress: (_, args, { ingest, access }) => ingest.updateProgress(args, access),
    completeIngestJob: (_, { id }, { ingest, access }) => ingest.complete(id, access),
    failIngestJob: (_, { id, error }, { ingest, access }) => ingest.fail(id, error, access),
  },
  Subscription: {
    ingestJob: {
      subscribe: (_, { projectId, jobId, after }, context) =>
        context.streams.open(context, {
          field: 'ingestJob',
          projectId,
          after,
          accepts: (event): event is IngestJobEventRecord =>
            isIngestJobEvent(event) && (jobId == null || event.job.id === jobId),
        }),
      resolve: (event: IngestJobEventRecord) => event,
    },
  },
};
