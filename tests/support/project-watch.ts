import { randomUUID } from 'node:crypto';
import type { App } from '../../src/app.js';
import { connectWebSocket, mutate, subscribeOverWebSocket } from './clients.js';
import type { ProjectEvent } from './operations.js';
import { CREATE_JOB, PROJECT_STREAM } from './operations.js';
import { waitFor } from './wait-for.js';

/**
 * Every event of a project from now on, over graphql-ws, live once the app counts the
 * subscriber; `settled` sends a marker on the same stream and returns what came before it,
 * so a "nothing else arrived" check has its proof. Its client is given to `dispose` later.
 */
export async function watchProject(app: App, projectId: string, dispose: (step: () => unknown) => void) {
  const client = connectWebSocket(app.url);
  dispose(() => client.dispose());
  const before = app.subscriberCount();
  const stream = subscribeOverWebSocket<ProjectEvent>(client, PROJECT_STREAM, { projectId });
  dispose(() => stream.dispose());
  await waitFor(() => app.subscriberCount() > before, { what: 'the project stream to be live' });
  return {
    /** The events so far, once a marker sent now has arrived after them. */
    async settled(): Promise<Array<ProjectEvent['projectEvents']>> {
      const marker = (await mutate(app.url, CREATE_JOB, { projectId, source: `marker-${randomUUID()}` })).createIngestJob.id;
      await waitFor(() => stream.results.some((result) => result.projectEvents.job?.id === marker), { timeoutMs: 10_000, what: 'the marker event' });
      const events = stream.results.map((result) => result.projectEvents);
      return events.slice(0, events.findIndex((event) => event.job?.id === marker));
    },
  };
}
