import type { IngestJobEventRecord } from '../events/event-record.js';
import { isIngestJobEvent } from '../events/event-record.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const ingestResolvers: Resolvers = {
  Query: {
    ingestJob: async (_, { id }, { ingest }) => (await ingest.get(id)) ?? null,
    ingestJobs: (_, { projectId }, { ingest }) => ingest.list(projectId),
  },
  Mutation: {
    createIngestJob: (_, args, { ingest }) => ingest.create(args),
    updateIngestJobProgress: (_, args, { ingest }) => ingest.updateProgress(args),
    completeIngestJob: (_, { id }, { ingest }) => ingest.complete(id),
    failIngestJob: (_, { id, error }, { ingest }) => ingest.fail(id, error),
  },
  Subscription: {
    ingestJob: {
      subscribe: (_, { projectId, jobId, after }, { streams }) =>
        streams.open({
          projectId,
          after,
          accepts: (event): event is IngestJobEventRecord =>
            isIngestJobEvent(event) && (jobId == null || event.job.id === jobId),
        }),
      resolve: (event: IngestJobEventRecord) => event,
    },
  },
};
