import type { EventRecord, LogPosition } from './event-record.js';
import { parseEventRecord } from './event-record.js';
import type { PubSub } from './pubsub.js';

export type EventListener = (event: EventRecord) => void;

/**
 * One live feed per project with local subscribers: a single PubSub subscription per
 * project and instance, whose events are put in log order before they reach listeners.
 */
export interface ProjectFeeds {
  /**
   * Resolves once the listener is live: every event the project accepts after that reaches
   * it exactly once, in log order. The returned function detaches the listener; the last
   * listener of a project releases the PubSub subscription.
   */
  subscribe(projectId: string, listener: EventListener): Promise<() => void>;
  /** Listeners attached, for one project or in total. */
  subscriberCount(projectId?: string): number;
  /** Detaches every listener and releases every PubSub subscription. */
  close(): void;
}

export interface ProjectFeedsOptions {
  pubsub: PubSub;
  channelFor(projectId: string): string;
  /** Where the project's log stands now; events at or before it are not delivered live. */
  head(projectId: string): Promise<LogPosition | undefined>;
  /**
   * How long an out-of-order event waits for the ones before it. Events published by
   * different instances can cross on the way to Redis; a longer wait means a lost publish.
   * @default 1000
   */
  gapTimeoutMs?: number;
  onError(error: unknown): void;
  onGap?(projectId: string, missing: { fromSeq: number; toSeq: number }): void;
}

interface Feed {
  readonly projectId: string;
  readonly listeners: Set<EventListener>;
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
}

export function createProjectFeeds(options: ProjectFeedsOptions): ProjectFeeds {
  const { pubsub, gapTimeoutMs = 1000 } = options;
  const feeds = new Map<string, Feed>();
  let listenerTotal = 0;

  function open(projectId: string): Feed {
    const feed: Feed = {
      projectId,
      listeners: new Set(),
      ready: Promise.resolve(),
      closed: false,
      early: [],
      ahead: new Map(),
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
      const head = await options.head(projectId);
      feed.epoch = head?.epoch;
      feed.nextSeq = (head?.seq ?? 0) + 1;
      const early = feed.early;
      feed.early = [];
      for (const event of early) accept(feed, event);
    })();
    return feed;
  }

  function receive(feed: Feed, message: unknown): void {
    if (feed.closed) return;
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
      // The project's first event, or its log started over (Redis lost its data): positions
      // of the old epoch mean nothing now, so the new one is followed from this event on.
      feed.epoch = event.epoch;
      feed.nextSeq = event.seq;
      feed.ahead.clear();
    }
    const nextSeq = feed.nextSeq!;
    if (event.seq < nextSeq) return;
    if (event.seq > nextSeq) {
      feed.ahead.set(event.seq, event);
      feed.gapTimer ??= setTimeout(() => skipGap(feed), gapTimeoutMs);
      return;
    }
    deliver(feed, event);
    drainAhead(feed);
  }

  function deliver(feed: Feed, event: EventRecord): void {
    feed.nextSeq = event.seq + 1;
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

  function skipGap(feed: Feed): void {
    feed.gapTimer = undefined;
    if (feed.closed || feed.ahead.size === 0) return;
    const resumeAt = Math.min(...feed.ahead.keys());
    options.onGap?.(feed.projectId, { fromSeq: feed.nextSeq!, toSeq: resumeAt - 1 });
    feed.nextSeq = resumeAt;
    drainAhead(feed);
    if (feed.ahead.size > 0) feed.gapTimer = setTimeout(() => skipGap(feed), gapTimeoutMs);
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
      feed.listeners.add(listener);
      listenerTotal++;
      let attached = true;
      const detach = () => {
        if (!attached) return;
        attached = false;
        listenerTotal--;
        feed.listeners.delete(listener);
        if (feed.listeners.size === 0 && !feed.closed) release(feed);
      };
      try {
        await feed.ready;
      } catch (error) {
        detach();
        throw error;
      }
      if (feed.closed) {
        detach();
        throw new Error('project feeds are closed');
      }
      return detach;
    },
    subscriberCount(projectId) {
      if (projectId === undefined) return listenerTotal;
      return feeds.get(projectId)?.listeners.size ?? 0;
    },
    close() {
      for (const feed of [...feeds.values()]) {
        listenerTotal -= feed.listeners.size;
        feed.listeners.clear();
        release(feed);
      }
    },
  };
}
