import type { IngestJobFieldsFragment } from '../generated/graphql.js';
import { IngestJobStream } from '../operations.js';
import type { StreamView } from './use-project-stream.js';
import { useProjectStream } from './use-project-stream.js';

export type IngestJob = IngestJobFieldsFragment;

export interface IngestJobStreamOptions {
  /** Narrows the view to one job. */
  jobId?: string;
}

export type IngestJobStreamView = StreamView<IngestJob> & { jobs: IngestJob[]; job?: IngestJob };

/**
 * The project's ingest jobs (or one job), each with its latest progress, kept current live.
 *
 * @example
 * const { jobs, status } = useIngestJobStream('demo');
 * const { job } = useIngestJobStream('demo', { jobId });
 */
export function useIngestJobStream(projectId: string, jobIdOrOptions?: string | IngestJobStreamOptions): IngestJobStreamView {
  const { jobId } = typeof jobIdOrOptions === 'object' ? jobIdOrOptions : { jobId: jobIdOrOptions };
  const view = useProjectStream({
    projectId,
    id: jobId,
    select: (snapshot) => snapshot.ingestJobs,
    subscription: IngestJobStream,
    variables: (after) => ({ projectId, jobId: jobId ?? null, after: after || null }),
    // A job's event carries the whole job.
    changeOf: ({ ingestJob: event }) => ({ cursor: event.cursor, id: event.job.id, apply: () => event.job }),
  });
  return { ...view, jobs: view.entities, job: jobId === undefined ? undefined : view.entities[0] };
}
