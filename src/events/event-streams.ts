import type { Viewer } from '../auth/viewer.js';
import { requireRead } from '../auth/viewer.js';
import { DomainError, badUserInput } from '../errors.js';
import type { EventType } from '../generated/resolvers-types.js';
import type { Metrics } from '../observability/metrics.js';
import type { LogPage, ProjectSnapshot, StateStore } from '../store/state-store.js';
import { LOG_PAGE_SIZE, PageTooLarge } from '../store/state-store.js';
import { requireId } from '../validation.js';
import type { EventRecord, LogPosition } from './event-record.js';
import { decodeCursor } from './event-record.js';
import type { ProjectFeeds } from './project-feeds.js';
import { PushIterator } from './push-iterator.js';

/**
 * What a stream tells the shared audience it feeds: where in the project's log it starts and
 * which event each of its results comes from. The audience needs both to let a resuming
 * member replay exactly up to what the audience has delivered.
 */
export interface AudienceSourceTap {
  /** The feed position the stream starts after; called once, before any event. */
  opened(position: LogPosition): void;
  /** GraphQL took `event` from the stream: the next result is its execution. */
  taken(event: EventRecord): void;
}

/** Who opens a stream, and how to end their connection if they stop reading. */
export interface Caller {
  viewer: Viewer;
  onSlowConsumer?: () => void;
  holdConnection?: () => () => void;
  /**
   * Set when the stream is the source of a shared audience: the transport counts the
   * audience's members and deliveries itself, and follows the stream's position.
   */
  audienceSource?: AudienceSourceTap;
  /**
   * Replay only: deliver the retained events after `after` up to this position, then end.
   * The live part comes from a shared audience that has delivered everything after it.
   */
  replayUntil?: LogPosition;
}

export interface StreamRequest<T extends EventRecord> {
  /** The subscription field, for metrics. */
  field: string;
  projectId: string;
  /** Resume after this cursor: replay the retained events after it, then go live. */
  after?: string | null;
  /** Decides per event whether this subscriber wants it; runs once per event and subscriber. */
  accepts(event: EventRecord): event is T;
  /**
   * Deliver events that share a key within `ms` as one, the latest. Events without a key
   * are delivered at once, after the waiting ones.
   */
  coalesce?: { ms: number; keyOf(event: T): string | undefined };
}

export interface HistoryRequest {
  projectId: string;
  after?: string | null;
  types?: readonly EventType[] | null;
  limit?: number | null;
}

/** The event side of the API: live streams with resume, history, and snapshots. */
export interface EventStreams {
  /**
   * The source of every subscription field. Resolves once the subscriber is live; with
   * `after`, the returned iterator first yields the retained events after that cursor, then
   * the live ones, with nothing missing or repeated at the seam. Ending the iteration
   * detaches from the project feed.
   */
  open<T extends EventRecord>(caller: Caller, request: StreamRequest<T>): Promise<AsyncIterableIterator<T>>;
  /**
   * Retained events after a cursor (or from the oldest retained), oldest first. With
   * `maxBytes`, an answer that could never be sent is not read whole first: without `types`
   * it is refused from the sizes the log keeps (`PageTooLarge`) before anything is read;
   * with them the log is read a page of `HISTORY_PAGE_BYTES` at a time, and stops with
   * `PageTooLarge` once the events kept hold more than `maxBytes`.
   */
  history(caller: Caller, request: HistoryRequest, maxBytes?: number): Promise<EventRecord[]>;
  snapshot(caller: Caller, projectId: string): Promise<ProjectSnapshotModel>;
  /** Ends every open stream (their subscribers see the stream complete), as a server drains. */
  endAll(): void;
  /**
   * Takes one of the subject's subscription slots, shared by its connections and transports;
   * returns the release, or undefined when the subject holds the most allowed. Streams opened
   * here take theirs themselves; members of a shared audience take theirs as they join.
   */
  subscriptionSlot(subject: string): (() => void) | undefined;
  /**
   * Whether the subject holds the most subscriptions allowed, counting `starting` ones a
   * transport has let through and not yet seen join: it refuses one more before it parses it.
   */
  atSubscriptionLimit(subject: string, starting?: number): boolean;
  /**
   * Whether the subject replays the most resumed subscriptions allowed: a transport refuses
   * one more resume before it executes it, so a refused resume costs a parse and a plan.
   */
  atReplayLimit(subject: string): boolean;
}

export type ProjectSnapshotModel = ProjectSnapshot & { projectId: string };

export const HISTORY_DEFAULT_LIMIT = 100;
export const HISTORY_MAX_LIMIT = 1000;
/**
 * Bytes of stored events read per round trip by a history query with a response budget:
 * a large page is then read in pieces this size, and stops being read once over the budget.
 */
export const HISTORY_PAGE_BYTES = 262_144;

/**
 * Events a replay reads from the log at a time. A replay holds at most one page, and an event
 * can carry a whole message (up to 100,000 characters): 16 keeps a page near 3 MB at worst
 * (and its parse short enough not to hold up other clients), and a catch-up of small
 * events still costs one round trip per 16.
 */
export const REPLAY_PAGE_EVENTS = 16;

/** A replay whose client stopped reading: the stream ends with it, and its subscriber is cut as a slow consumer. */
export class ReplayStalledError extends Error {
  override readonly name = 'ReplayStalledError';
}

/** By name, as `isGraphQLError`: the error may have crossed a wrapper that rebuilt it. */
export function isReplayStalled(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ReplayStalledError' || isReplayStalled((error as { originalError?: unknown }).originalError));
}

function parseAfter(after: string): LogPosition {
  const position = decodeCursor(after);
  if (!position) throw badUserInput('after', `is not a cursor issued by this API: "${after.slice(0, 80)}"`);
  return position;
}

function cursorExpired(reason: string): DomainError {
  return new DomainError('CURSOR_EXPIRED', `cannot resume after this cursor: ${reason}; load a fresh snapshot`);
}

/** A cursor can be resumed from only if the log still holds everything after it. */
function checkResumable(cursor: LogPosition, log: { epoch: string; headSeq: number; firstSeq?: number }): void {
  if (cursor.epoch !== log.epoch) {
    throw cursorExpired('it belongs to another project, or to an event log that has since been reset');
  }
  if (cursor.seq > log.headSeq) throw cursorExpired('it is ahead of the event log');
  if (log.firstSeq !== undefined && cursor.seq + 1 < log.firstSeq) {
    throw cursorExpired('the events after it are no longer retained');
  }
}

/**
 * Holds keyed events for `ms` and delivers the latest per key. Re-inserting a key moves it
 * to the end, so waiting events leave in log order; an unkeyed event first flushes them.
 */
function createCoalescer<T>(options: { ms: number; keyOf(event: T): string | undefined }, deliver: (event: T) => void) {
  const waiting = new Map<string, T>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    for (const event of waiting.values()) deliver(event);
    waiting.clear();
  };
  return {
    push(event: T) {
      const key = options.keyOf(event);
      if (key === undefined) {
        flush();
        deliver(event);
        return;
      }
      waiting.delete(key);
      waiting.set(key, event);
      timer ??= setTimeout(flush, options.ms);
    },
    dispose() {
      clearTimeout(timer);
      waiting.clear();
    },
  };
}

export function createEventStreams(dependencies: {
  feeds: ProjectFeeds;
  store: StateStore;
  /** Live events one subscription may have unread before its consumer counts as slow. */
  maxQueuedEvents: number;
  /**
   * Counts the replays each token subject runs at once; `acquire` gives the release, or
   * undefined when the subject runs the most allowed.
   */
  replays: { acquire(subject: string): (() => void) | undefined; count(subject: string): number; limit: number };
  /** How long a replaying client may leave the next event untaken before it is cut as a slow consumer. */
  replayStallMs: number;
  /** Counts the subscriptions each token subject holds, as `replays` counts replays. */
  subscriptions: { acquire(subject: string): (() => void) | undefined; count(subject: string): number; limit: number };
  metrics: Metrics;
}): EventStreams {
  const { feeds, store, maxQueuedEvents, replays, replayStallMs, subscriptions: subscriptionSlots, metrics } = dependencies;

  function holdSubscription(viewer: Viewer): () => void {
    const release = subscriptionSlots.acquire(viewer.subject);
    if (!release) {
      throw new DomainError(
        'RATE_LIMITED',
        `this token already holds ${subscriptionSlots.limit} subscriptions; end one before starting another`,
      );
    }
    return release;
  }
  /** Streams handed out and not yet ended, so a drain can end them. */
  const running = new Set<{ return(): Promise<unknown> }>();

  /** Counts CURSOR_EXPIRED refusals on their way out. */
  async function expiring<R>(work: () => Promise<R>): Promise<R> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DomainError && error.code === 'CURSOR_EXPIRED') metrics.cursorExpired.inc();
      throw error;
    }
  }

  /**
   * Reads the log after `cursor` up to `untilSeq`, handing each event and its stored size to
   * `take`; with `pageBytes`, a page at a time of about that many bytes.
   */
  async function replay(
    projectId: string,
    cursor: LogPosition,
    untilSeq: number,
    take: (event: EventRecord, size: number) => boolean | void,
    pageBytes?: number,
  ): Promise<void> {
    let seq = cursor.seq;
    while (seq < untilSeq) {
      const page: LogPage = await store.readLog(projectId, seq, Math.min(LOG_PAGE_SIZE, untilSeq - seq), pageBytes);
      checkResumable({ epoch: cursor.epoch, seq }, page);
      if (page.events.length === 0) throw cursorExpired('the events after it are no longer retained');
      for (const [index, event] of page.events.entries()) {
        if (event.seq > untilSeq) return;
        seq = event.seq;
        if (take(event, page.sizes?.[index] ?? 0) === false) return;
      }
    }
  }

  /**
   * Replays the log after `cursor` up to `untilSeq` into `stream` a page at a time, reading
   * the next page only once the consumer has taken the last: however long the log and however
   * slow the client, a replay holds one page. `caughtUp` runs once the last page is pushed.
   * A replay that makes no progress (no event taken, no page read) for `replayStallMs` is
   * `stalled`: its client stopped reading.
   */
  function pagedReplay<T extends EventRecord>(options: {
    projectId: string;
    cursor: LogPosition;
    untilSeq: number;
    accepts: (event: EventRecord) => event is T;
    stream: PushIterator<T>;
    caughtUp(): void;
    stalled(): void;
  }) {
    const { projectId, cursor, untilSeq, accepts, stream } = options;
    let seq = cursor.seq;
    // Pages grow as the client keeps reading, as TCP's window does: many replays starting at
    // once, or a client that stops at once, cost a small page each.
    let pageSize = 2;
    let reading: Promise<void> | undefined;
    // Progress is an event taken or a page read: a filter that skips most of a long log
    // reads many pages before it has anything to push.
    let pagesRead = 0;
    let progressAtCheck = -1;
    const watchdog = setInterval(() => {
      if (stream.closed) return stop();
      const progress = stream.taken + pagesRead;
      if (progress === progressAtCheck) {
        stop();
        options.stalled();
      }
      progressAtCheck = progress;
    }, replayStallMs);
    watchdog.unref();
    function stop() {
      clearInterval(watchdog);
      stream.onDrained = undefined;
    }
    async function readPage(): Promise<void> {
      while (seq < untilSeq && !stream.closed) {
        const page = await store.readLog(projectId, seq, Math.min(pageSize, untilSeq - seq));
        pageSize = Math.min(REPLAY_PAGE_EVENTS, pageSize * 2);
        pagesRead++;
        checkResumable({ epoch: cursor.epoch, seq }, page);
        if (page.events.length === 0) throw cursorExpired('the events after it are no longer retained');
        let pushed = 0;
        for (const event of page.events) {
          if (event.seq > untilSeq) break;
          seq = event.seq;
          if (!accepts(event)) continue;
          stream.push(event);
          pushed++;
        }
        if (page.events.at(-1)!.seq >= untilSeq) seq = untilSeq;
        metrics.replayed(pushed);
        if (pushed > 0) break;
      }
      if (seq >= untilSeq && !stream.closed) {
        stop();
        options.caughtUp();
      }
    }
    return {
      /**
       * Reads the first page, so a cursor the log cannot resume is refused before the stream
       * is handed out; later pages follow the consumer.
       */
      async start(): Promise<void> {
        try {
          await readPage();
        } catch (error) {
          stop();
          throw error;
        }
        if (seq >= untilSeq) return;
        stream.onDrained = () => {
          reading ??= readPage()
            .catch((error: unknown) => {
              stop();
              stream.fail(error);
            })
            .finally(() => (reading = undefined));
        };
      },
      stop,
    };
  }

  /** One of the subject's replay slots, or RATE_LIMITED. */
  function acquireReplay(viewer: Viewer): () => void {
    const release = replays.acquire(viewer.subject);
    if (!release) {
      throw new DomainError(
        'RATE_LIMITED',
        `this token already replays ${replays.limit} resumed subscriptions; resume this one once one of them has caught up`,
      );
    }
    return release;
  }

  return {
    async open<T extends EventRecord>(caller: Caller, request: StreamRequest<T>) {
      const projectId = requireId('projectId', request.projectId);
      requireRead(caller.viewer, projectId);
      const cursor = request.after == null ? undefined : parseAfter(request.after);
      const { accepts } = request;
      const slow = () => {
        // A WebSocket counts its own slow-consumer closes; an SSE stream just ends here.
        if (caller.onSlowConsumer) caller.onSlowConsumer();
        else metrics.slowConsumers.inc({ transport: 'sse' });
      };
      // A replay's buffer is bounded by its page; live events by `maxQueuedEvents`.
      const stream = new PushIterator<T>(caller.replayUntil || cursor ? Number.POSITIVE_INFINITY : maxQueuedEvents, slow);
      const counted = !caller.audienceSource && !caller.replayUntil;
      const releaseSubscription = counted ? holdSubscription(caller.viewer) : undefined;
      let heldConnection: (() => void) | undefined;
      try {
        heldConnection = caller.holdConnection?.();
      } catch (error) {
        releaseSubscription?.();
        throw error;
      }
      const release = () => {
        heldConnection?.();
        releaseSubscription?.();
      };
      const deliver = (event: T) => {
        if (counted) metrics.delivered();
        stream.push(event);
      };
      const coalescing = request.coalesce && createCoalescer(request.coalesce, deliver);
      const push = coalescing ? coalescing.push : deliver;
      /** Hands the stream out: from now on it ends with its token, and ending it detaches it. */
      const handOut = (detach: () => void) => {
        // A stream lives no longer than the token that opened it; the client reconnects with a fresh one.
        const expiry =
          caller.viewer.expiresAt === undefined
            ? undefined
            : setTimeout(() => void stream.return(), Math.max(0, caller.viewer.expiresAt - Date.now()));
        const subscriptions = metrics.subscriptions.labels(request.field, 'private');
        if (counted) subscriptions.inc();
        running.add(stream);
        stream.teardown = () => {
          coalescing?.dispose();
          running.delete(stream);
          if (counted) subscriptions.dec();
          clearTimeout(expiry);
          release();
          detach();
        };
        return stream;
      };
      try {
        if (caller.replayUntil) return await expiring(() => openReplay(caller.replayUntil!));
        return await (cursor ? expiring(() => openResumed(cursor)) : openLive());
      } catch (error) {
        release();
        throw error;
      }

      async function openLive() {
        const { position, detach } = await feeds.subscribe(projectId, (event) => {
          if (accepts(event)) push(event);
        });
        const tap = caller.audienceSource;
        if (tap) {
          // Synchronously with attaching: no event can reach the stream before the audience
          // knows where it starts.
          tap.opened(position);
          stream.onTake = (event) => tap.taken(event);
        }
        return handOut(detach);
      }

      /**
       * The private half of a resume that joins a shared audience: the retained events after
       * the cursor up to `until`, the last position the audience delivered. The audience
       * delivers everything after it, so the two meet without a gap or a repeat.
       */
      async function openReplay(until: LogPosition) {
        if (!cursor) {
          stream.end();
          return handOut(() => {});
        }
        metrics.resumes.inc();
        if (cursor.epoch === until.epoch && cursor.seq > until.seq) {
          // Ahead of this audience (the client came from a faster instance): nothing to
          // replay, but the cursor must still be one the log could have issued.
          checkResumable(cursor, await store.readLog(projectId, cursor.seq, 0));
          stream.end();
          return handOut(() => {});
        }
        checkResumable(cursor, { epoch: until.epoch, headSeq: until.seq });
        const releaseReplay = acquireReplay(caller.viewer);
        const paging = pagedReplay({
          projectId,
          cursor,
          untilSeq: until.seq,
          accepts,
          stream,
          caughtUp: () => {
            releaseReplay();
            stream.end();
          },
          // The audience cuts its member: ending the replay quietly would let it join with a gap.
          stalled: () => stream.fail(new ReplayStalledError('the client stopped reading its replay')),
        });
        try {
          await paging.start();
        } catch (error) {
          releaseReplay();
          throw error;
        }
        return handOut(() => {
          paging.stop();
          releaseReplay();
        });
      }

      async function openResumed(cursor: LogPosition) {
        // Live events wait in `held` while the log is replayed up to the position the live
        // feed started from; after that the two join without a gap or a repeat. The replay
        // goes at the client's pace, so what is held is bounded like a live backlog.
        metrics.resumes.inc();
        const releaseReplay = acquireReplay(caller.viewer);
        let held: EventRecord[] | undefined = [];
        const { position, detach } = await feeds.subscribe(projectId, (event) => {
          if (!held) {
            if (accepts(event)) push(event);
          } else if (held.length < maxQueuedEvents) {
            held.push(event);
          } else {
            held = undefined;
            void stream.return();
            slow();
          }
        });
        const paging = pagedReplay({
          projectId,
          cursor,
          untilSeq: position.seq,
          accepts,
          stream,
          caughtUp: () => {
            releaseReplay();
            // Only live events count against the consumer, as for any live stream.
            stream.maxBuffered = stream.buffered + maxQueuedEvents;
            for (const event of held ?? []) if (accepts(event)) push(event);
            held = undefined;
          },
          stalled: () => {
            void stream.return();
            slow();
          },
        });
        try {
          checkResumable(cursor, { epoch: position.epoch, headSeq: position.seq });
          await paging.start();
        } catch (error) {
          releaseReplay();
          detach();
          throw error;
        }
        return handOut(() => {
          paging.stop();
          releaseReplay();
          detach();
        });
      }
    },

    async history(caller, { projectId, after, types, limit }, maxBytes) {
      const id = requireId('projectId', projectId);
      requireRead(caller.viewer, id);
      const count = limit ?? HISTORY_DEFAULT_LIMIT;
      if (!Number.isInteger(count) || count < 1 || count > HISTORY_MAX_LIMIT) {
        throw badUserInput('limit', `must be from 1 to ${HISTORY_MAX_LIMIT}, got ${count}`);
      }
      if (types?.length === 0) throw badUserInput('types', 'must name at least one event type, or be left out');
      const wanted = types ? new Set(types) : undefined;
      const events: EventRecord[] = [];
      const first = await store.readLog(id, after == null ? 0 : parseAfter(after).seq, 0);
      const cursor = after == null ? { epoch: first.epoch, seq: Math.max(0, first.firstSeq - 1) } : parseAfter(after);
      let bytes = 0;
      const tooLarge = () => new PageTooLarge(`the events of ${id} after ${after ?? 'the oldest'} are larger than ${maxBytes} bytes`);
      await expiring(async () => {
        checkResumable(cursor, first);
        // Without a filter, every event the page reads is in the answer: one too large is
        // refused from the sizes the log keeps, before any of it is read.
        if (maxBytes !== undefined && wanted === undefined) {
          const pageBytes = await store.logBytes(id, cursor.seq, count);
          if (pageBytes !== undefined && pageBytes > maxBytes) throw tooLarge();
        }
        await replay(
          id,
          cursor,
          first.headSeq,
          (event, size) => {
            if (wanted !== undefined && !wanted.has(event.type)) return true;
            events.push(event);
            bytes += size;
            if (maxBytes !== undefined && bytes > maxBytes) throw tooLarge();
            return events.length < count;
          },
          // A page never reads far past the whole budget, nor more than HISTORY_PAGE_BYTES.
          maxBytes === undefined ? undefined : Math.min(HISTORY_PAGE_BYTES, maxBytes + 1),
        );
      });
      return events;
    },

    async snapshot(caller, projectId) {
      const id = requireId('projectId', projectId);
      requireRead(caller.viewer, id);
      return { projectId: id, ...(await store.snapshot(id)) };
    },

    endAll() {
      for (const stream of [...running]) void stream.return();
    },

    subscriptionSlot: (subject) => subscriptionSlots.acquire(subject),
    atSubscriptionLimit: (subject, starting = 0) => subscriptionSlots.count(subject) + starting >= subscriptionSlots.limit,
    atReplayLimit: (subject) => replays.count(subject) >= replays.limit,
  };
}
