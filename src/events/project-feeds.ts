import type { StateStore } from '../store/state-store.js';
import { LOG_PAGE_SIZE } from '../store/state-store.js';
import type { EventRecord, LogPosition } from './event-record.js';
import { parseEventRecord } from './event-record.js';
import type { PubSub } from './pubsub.js';

export type EventListener = (event: EventRecord) => void;

export interface FeedSubscription {
  /** The last position before this listener's first live event. */
  position: LogPosition;
  /** Detaches the listener; the last listener of a project releases its PubSub subscription. */
  detach(): void;
}

/**
 * One live feed per project with local subscribers: a single PubSub subscription per
 * project and instance, whose events reach listeners in log order, each exactly once.
 * Events that do not arrive live (a lost publish, a dropped Redis connection) are read
 * from the project's log.
 */
export interface ProjectFeeds {
  /**
   * Resolves once the listener is live: every event after `position` reaches it exactly
   * once, in log order.
   */
  subscribe(projectId: string, listener: EventListener): Promise<FeedSubscription>;
  /** Reads what every feed may have missed, for example after the PubSub reconnected. */
  catchUp(): Promise<void>;
  /** Listeners attached, for one project or in total. */
  subscriberCount(projectId?: string): number;
  /** Detaches every listener and releases every PubSub subscription. */
  close(): void;
}

export interface ProjectFeedsOptions {
  pubsub: PubSub;
  channelFor(projectId: string): string;
  log: Pick<StateStore, 'head' | 'readLog'>;
  /**
   * How long an out-of-order event waits for the ones before it before they are read from
   * the log. Events published by different instances can cross on the way to Redis.
   * @default 100
   */
  gapTimeoutMs?: number;
  /**
   * How often a feed that received nothing for that long checks the log for events whose
   * live message was lost with nothing after it to reveal the gap. 0 turns it off.
   * @default 5000
   */
  idleCheckMs?: number;
  /** Called once per event delivered to this instance's listeners. */
  onDeliver?(event: EventRecord): void;
  onError(error: unknown): void;
  /**
   * Positions that did not arrive live and were read from the log; `lost` counts those the
   * log no longer had (trimmed by retention).
   */
  onGapFilled?(projectId: string, range: { fromSeq: number; toSeq: number; lost: number }): void;
}

interface Feed {
  readonly projectId: string;
  readonly listeners: Set<EventListener>;
  /** Subscribers waiting for the feed to become ready; they keep it open too. */
  joining: number;
  ready: Promise<void>;
  closed: boolean;
  subscriptionId?: number;
  /** Unknown until the head was read; events arriving before that wait in `early`. */
  epoch?: string;
  nextSeq?: number;
  early: EventRecord[];
  /** Events that arrived ahead of `nextSeq`, by seq. */
  ahead: Map<number, EventRecord>;
  gapTimer?: NodeJS.Timeout;
  /** Something arrived since the last idle check. */
  active: boolean;
  /** A log read in progress; at most one per feed. */
  filling?: Promise<void>;
}


export function createProjectFeeds(options: ProjectFeedsOptions): ProjectFeeds {
  const { pubsub, log, gapTimeoutMs = 100, idleCheckMs = 5000 } = options;
  const feeds = new Map<string, Feed>();
  let listenerTotal = 0;

  // One timer for all feeds; a feed that heard something since the last round is skipped.
  const idleCheck =
    idleCheckMs > 0
      ? setInterval(() => {
          for (const feed of feeds.values()) {
            if (feed.nextSeq === undefined || feed.filling) continue;
            if (feed.active) feed.active = false;
            else void readFromLog(feed);
          }
        }, idleCheckMs).unref()
      : undefined;

  function open(projectId: string): Feed {
    const feed: Feed = {
      projectId,
      listeners: new Set(),
      joining: 0,
      ready: Promise.resolve(),
      closed: false,
      early: [],
      ahead: new Map(),
      active: true,
    };
    feed.ready = (async () => {
      const subscriptionId = await pubsub.subscribe(options.channelFor(projectId), (message) => receive(feed, message));
      if (feed.closed) {
        pubsub.unsubscribe(subscriptionId);
        return;
      }
      feed.subscriptionId = subscriptionId;
      // Read the head only after SUBSCRIBE was acknowledged: any event after the head is then
      // either already on its way to us or not yet accepted, so none slips between the two.
      const head = await log.head(projectId);
      feed.epoch = head.epoch;
      feed.nextSeq = head.seq + 1;
      const early = feed.early;
      feed.early = [];
      for (const event of early) accept(feed, event);
    })();
    return feed;
  }

  function receive(feed: Feed, message: unknown): void {
    if (feed.closed) return;
    feed.active = true;
    let event: EventRecord;
    try {
      event = parseEventRecord(message);
    } catch (error) {
      options.onError(error);
      return;
    }
    if (feed.nextSeq === undefined) feed.early.push(event);
    else accept(feed, event);
  }

  function accept(feed: Feed, event: EventRecord): void {
    if (event.epoch !== feed.epoch) {
      // The project's log started over (Redis lost its data): positions of the old epoch mean
      // nothing now, and the new epoch is followed from its start, read from the log.
      feed.epoch = event.epoch;
      feed.nextSeq = 1;
      feed.ahead.clear();
    }
    if (event.seq < feed.nextSeq!) return;
    if (event.seq > feed.nextSeq!) {
      feed.ahead.set(event.seq, event);
      feed.gapTimer ??= setTimeout(() => fillGap(feed), gapTimeoutMs);
      return;
    }
    deliver(feed, event);
    drainAhead(feed);
  }

  function deliver(feed: Feed, event: EventRecord): void {
    feed.nextSeq = event.seq + 1;
    options.onDeliver?.(event);
    for (const listener of feed.listeners) listener(event);
  }

  function drainAhead(feed: Feed): void {
    if (feed.ahead.size === 0) return;
    let event: EventRecord | undefined;
    while ((event = feed.ahead.get(feed.nextSeq!)) !== undefined) {
      feed.ahead.delete(event.seq);
      deliver(feed, event);
    }
    if (feed.ahead.size === 0 && feed.gapTimer) {
      clearTimeout(feed.gapTimer);
      feed.gapTimer = undefined;
    }
  }

  function fillGap(feed: Feed): void {
    feed.gapTimer = undefined;
    if (feed.closed || feed.ahead.size === 0) return;
    void readFromLog(feed, Math.min(...feed.ahead.keys()) - 1);
  }

  /**
   * Delivers from the log every event up to `untilSeq` (or the head) that the feed has not
   * delivered yet. A position the log no longer has is passed over and reported: there is
   * nothing left to deliver for it.
   */
  function readFromLog(feed: Feed, untilSeq?: number): Promise<void> {
    const previous = feed.filling ?? Promise.resolve();
    const filling = previous.then(async () => {
      const fromSeq = feed.nextSeq!;
      let lost = 0;
      let lastFromLog: number | undefined;
      try {
        for (;;) {
          if (feed.closed) return;
          const want = untilSeq === undefined ? LOG_PAGE_SIZE : Math.min(LOG_PAGE_SIZE, untilSeq - feed.nextSeq! + 1);
          if (want <= 0) break;
          const page = await log.readLog(feed.projectId, feed.nextSeq! - 1, want);
          if (feed.closed) return;
          if (page.epoch !== feed.epoch) {
            // The log started over while this feed was not listening: follow the new epoch.
            feed.epoch = page.epoch;
            feed.nextSeq = 1;
            feed.ahead.clear();
            continue;
          }
          for (const event of page.events) {
            if (event.seq < feed.nextSeq!) continue;
            lost += event.seq - feed.nextSeq!;
            deliver(feed, event);
            lastFromLog = event.seq;
          }
          drainAhead(feed);
          const end = untilSeq ?? page.headSeq;
          if (page.events.length === 0 || feed.nextSeq! > end) {
            if (feed.nextSeq! <= end && page.firstSeq > feed.nextSeq!) {
              // Trimmed before it could be read: skip to what the log still has.
              lost += page.firstSeq - feed.nextSeq!;
              feed.nextSeq = page.firstSeq;
              drainAhead(feed);
              continue;
            }
            break;
          }
        }
        if (lastFromLog !== undefined || lost > 0) {
          options.onGapFilled?.(feed.projectId, { fromSeq, toSeq: lastFromLog ?? feed.nextSeq! - 1, lost });
        }
      } catch (error) {
        options.onError(error);
        // Try again later rather than skip: the events are in the log, the log was unreachable.
        if (!feed.closed && feed.ahead.size > 0) feed.gapTimer ??= setTimeout(() => fillGap(feed), gapTimeoutMs * 10);
      }
    });
    feed.filling = filling;
    void filling.then(() => {
      if (feed.filling === filling) feed.filling = undefined;
    });
    return filling;
  }

  function releaseIfUnused(feed: Feed): void {
    if (feed.listeners.size === 0 && feed.joining === 0 && !feed.closed) release(feed);
  }

  function release(feed: Feed): void {
    feed.closed = true;
    feeds.delete(feed.projectId);
    clearTimeout(feed.gapTimer);
    if (feed.subscriptionId !== undefined) pubsub.unsubscribe(feed.subscriptionId);
  }

  return {
    async subscribe(projectId, listener) {
      let feed = feeds.get(projectId);
      if (!feed) {
        feed = open(projectId);
        feeds.set(projectId, feed);
      }
      const joined = feed;
      let attached = false;
      const detach = () => {
        if (!attached) return;
        attached = false;
        listenerTotal--;
        joined.listeners.delete(listener);
        releaseIfUnused(joined);
      };
      joined.joining++;
      try {
        await joined.ready;
      } catch (error) {
        joined.joining--;
        releaseIfUnused(joined);
        throw error;
      }
      joined.joining--;
      if (joined.closed) throw new Error('project feeds are closed');
      // Attaching and reading the position happen in one synchronous step: the listener gets
      // exactly the events after it.
      joined.listeners.add(listener);
      attached = true;
      listenerTotal++;
      return { position: { epoch: joined.epoch!, seq: joined.nextSeq! - 1 }, detach };
    },
    async catchUp() {
      await Promise.all(
        [...feeds.values()].filter((feed) => feed.nextSeq !== undefined).map((feed) => readFromLog(feed)),
      );
    },
    subscriberCount(projectId) {
      if (projectId === undefined) return listenerTotal;
      return feeds.get(projectId)?.listeners.size ?? 0;
    },
    close() {
      clearInterval(idleCheck);
      for (const feed of [...feeds.values()]) {
        listenerTotal -= feed.listeners.size;
        feed.listeners.clear();
        release(feed);
      }
    },
  };
}
