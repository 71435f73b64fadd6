import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { useEffect, useMemo, useState } from 'react';
import type { CombinedError } from 'urql';
import { createRequest, useQuery, useSubscription } from 'urql';
import type { ConnectionStatus } from '../connection-status.js';
import { isAfter } from '../cursor.js';
import { backoffDelay } from '../events-client.js';
import type { ProjectSnapshotQuery as Snapshot } from '../generated/graphql.js';
import type { EntityState } from '../merge.js';
import { DEFAULT_MESSAGE_LIMIT } from '../merge-agent-run.js';
import { DEFAULT_ENTITY_LIMIT, applyChange, fromSnapshot, newer } from '../merge.js';
import { ProjectSnapshotQuery } from '../operations.js';
import { useConnectionStatus } from '../provider.js';

export interface StreamView<T> {
  /** Current state of every entity in view, oldest first. */
  entities: T[];
  /**
   * How many entities the view has seen: more than `entities.length` once the oldest left
   * to keep the view within its limit (200), as in "latest 200 of 1,342".
   */
  total: number;
  status: ConnectionStatus;
  error?: CombinedError;
}

/** What one stream event does to the view: the entity it names and how it changes it. */
export interface StreamChange<T> {
  cursor: string;
  id: string;
  /** The entity's new state, or `undefined` when the event cannot tell (see `applyChange`). */
  apply(current: T | undefined): T | undefined;
  /**
   * Whether the event shows that the view missed an earlier change to the entity (a
   * streamed message's text past the end of what it holds): the snapshot is then loaded again.
   */
  missed?(current: T | undefined): boolean;
}

interface StreamSpec<T extends { id: string }, Data, Variables> {
  projectId: string;
  /** Narrows the view to one job or run. */
  id?: string;
  select(snapshot: Snapshot['projectSnapshot']): readonly T[];
  subscription: TypedDocumentNode<Data, Variables>;
  variables(after: string): Variables;
  changeOf(data: Data): StreamChange<T>;
  /** Most entities in view. @default 200 */
  limit?: number;
  /** Messages per agent run the snapshot holds. @default 50 */
  messageLimit?: number;
}

/** First wait before asking again for a snapshot that could not be fetched; it doubles up to the maximum. */
const SNAPSHOT_RETRY_MS = 250;
const SNAPSHOT_RETRY_MAX_MS = 10_000;

const isExpired = (error: CombinedError | undefined) =>
  error?.graphQLErrors.some((graphQLError) => graphQLError.extensions?.code === 'CURSOR_EXPIRED') ?? false;

/**
 * Snapshot plus stream: loads the project's state with the cursor it reflects, subscribes
 * after that cursor and folds every event into the state (`spec.changeOf` says how). When
 * the server can no longer resume (CURSOR_EXPIRED), or an event shows the view missed a
 * change (`StreamChange.missed`), the snapshot is loaded again.
 */
export function useProjectStream<T extends { id: string }, Data, Variables extends Record<string, unknown>>(
  spec: StreamSpec<T, Data, Variables>,
): StreamView<T> {
  const { projectId, id, limit = DEFAULT_ENTITY_LIMIT, messageLimit = DEFAULT_MESSAGE_LIMIT } = spec;
  const connection = useConnectionStatus();
  const [snapshot, reloadSnapshot] = useQuery({
    query: ProjectSnapshotQuery,
    // Every hook asks with the same variables unless told otherwise, so that hooks of one
    // project share one snapshot request.
    variables: { projectId, messageLimit },
    requestPolicy: 'network-only',
  });
  const loaded = snapshot.data?.projectSnapshot;
  // A snapshot that could not be fetched (server restarting, network down) is asked for again
  // with backoff; an answer that refuses it (FORBIDDEN, a bad id) stays an error.
  const snapshotUnreachable = snapshot.error?.networkError !== undefined && !snapshot.fetching;
  const [snapshotRetries, setSnapshotRetries] = useState(0);
  useEffect(() => {
    if (!snapshotUnreachable) return;
    const timer = setTimeout(() => {
      setSnapshotRetries((retries) => retries + 1);
      reloadSnapshot({ requestPolicy: 'network-only' });
    }, backoffDelay(snapshotRetries, SNAPSHOT_RETRY_MS, SNAPSHOT_RETRY_MAX_MS));
    return () => clearTimeout(timer);
  }, [snapshotUnreachable, snapshotRetries, reloadSnapshot]);
  useEffect(() => {
    if (loaded) setSnapshotRetries(0);
  }, [loaded]);
  const initial = useMemo(
    () =>
      loaded
        ? fromSnapshot(
            spec.select(loaded).filter((entity) => id === undefined || entity.id === id),
            loaded.cursor,
            limit,
          )
        : undefined,
    // `spec.select` is a fixed projection per hook; only the snapshot, id and limit change.
    [loaded, id, limit],
  );
  const variables = spec.variables(loaded?.cursor ?? '');
  // While a stale view waits for a snapshot read at or after the event that made it stale,
  // the subscription is paused. A snapshot replaces a stale view even when the stream had
  // gone past the snapshot's cursor (`newer`); events of the old subscription applied after
  // it would skip the ones between, so none may arrive: the next subscription replays them.
  const [reloadingFor, setReloadingFor] = useState<string>();
  const reloading =
    reloadingFor !== undefined && initial !== undefined && initial.cursor !== reloadingFor && !isAfter(initial.cursor!, reloadingFor);
  const [stream] = useSubscription<Data, EntityState<T>, Variables>(
    {
      query: spec.subscription,
      variables,
      pause: !initial || reloading,
    },
    (previous, data) => {
      const { cursor, id: entityId, apply, missed } = spec.changeOf(data);
      return applyChange(newer(initial!, previous), cursor, entityId, apply, limit, missed);
    },
  );
  // urql keeps a subscription's error until the operation that replaced it yields something,
  // so an error counts only while it belongs to the subscription after the current snapshot:
  // once a reloaded snapshot has resubscribed, the CURSOR_EXPIRED that caused it is over.
  const currentKey = createRequest(spec.subscription, variables).key;
  const streamError = stream.operation === undefined || stream.operation.key === currentKey ? stream.error : undefined;
  const expired = isExpired(streamError);
  useEffect(() => {
    if (expired) reloadSnapshot({ requestPolicy: 'network-only' });
  }, [expired, reloadSnapshot]);

  const state = initial ? newer(initial, stream.data) : undefined;
  // Once per stale view: the snapshot that answers replaces it (`newer`), so a view that goes
  // stale again later (another missed change) has a new `staleAt` and reloads again.
  const staleAt = state?.staleAt;
  useEffect(() => {
    if (staleAt === undefined) return;
    setReloadingFor(staleAt);
    reloadSnapshot({ requestPolicy: 'network-only' });
  }, [staleAt, reloadSnapshot]);
  const entities = useMemo(() => (state ? [...state.byId.values()] : []), [state]);
  const error = (snapshotUnreachable ? undefined : snapshot.error) ?? (expired ? undefined : streamError);
  // The client's status (`useConnectionStatus`) unless this view is refused (`error`) or still
  // loading while the server answers (`connecting`): an unreachable server reads
  // `reconnecting` in every hook and in the provider alike.
  let status: ConnectionStatus;
  if (error) status = 'error';
  else if (snapshotUnreachable) status = 'reconnecting';
  else if ((!initial || expired || reloading) && connection !== 'reconnecting') status = 'connecting';
  else status = connection;
  return { entities, total: entities.length + (state?.dropped ?? 0), status, error };
}
