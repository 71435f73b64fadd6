import { badUserInput } from '../errors.js';
import { requireId } from '../validation.js';
import type { EventRecord } from './event-record.js';
import { decodeCursor } from './event-record.js';
import type { ProjectFeeds } from './project-feeds.js';
import { PushIterator } from './push-iterator.js';

export interface ProjectSubscription<T extends EventRecord> {
  projectId: string;
  after?: string | null;
  /** Decides per event whether this subscriber wants it; runs once per event and subscriber. */
  accepts(event: EventRecord): event is T;
}

/**
 * The source of every subscription field: resolves once the subscriber is live, so an
 * event accepted after the subscription started is never missed. Ending the iteration
 * detaches from the project feed.
 */
export async function subscribeToProject<T extends EventRecord>(
  feeds: ProjectFeeds,
  subscription: ProjectSubscription<T>,
): Promise<AsyncIterableIterator<T>> {
  const projectId = requireId('projectId', subscription.projectId);
  if (subscription.after != null && decodeCursor(subscription.after) === undefined) {
    throw badUserInput('after', `is not a cursor issued by this API: "${subscription.after.slice(0, 80)}"`);
  }
  const { accepts } = subscription;
  const stream = new PushIterator<T>();
  stream.teardown = await feeds.subscribe(projectId, (event) => {
    if (accepts(event)) stream.push(event);
  });
  return stream;
}
