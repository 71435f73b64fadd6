import type { Logger } from 'pino';
import type { AbandonedWorkSweeper } from './abandoned-work.js';
import { createAbandonedWorkSweeper } from './abandoned-work.js';
import type { RecordSweeper } from './idempotency/record-sweeper.js';
import { createRecordSweeper } from './idempotency/record-sweeper.js';
import type { AgentService } from './agent/agent-service.js';
import { createAgentService } from './agent/agent-service.js';
import type { Backend } from './backend.js';
import { createBackend } from './backend.js';
import type { Config } from './config.js';
import type { EventRecord } from './events/event-record.js';
import type { EventStreams } from './events/event-streams.js';
import { createEventStreams } from './events/event-streams.js';
import type { ProjectFeeds } from './events/project-feeds.js';
import { createProjectFeeds } from './events/project-feeds.js';
import type { IngestService } from './ingest/ingest-service.js';
import { createIngestService } from './ingest/ingest-service.js';
import type { Metrics } from './observability/metrics.js';
import { createChangeApplier } from './store/change-applier.js';
import { createConnectionLimiter } from './transport/limiters.js';
import type { WorkflowService } from './workflow/workflow-service.js';
import { createWorkflowService } from './workflow/workflow-service.js';

/** What resolvers and transports reach: the services that own the state, and the event streams. */
export interface Services {
  ingest: IngestService;
  agent: AgentService;
  workflow: WorkflowService;
  streams: EventStreams;
}

/**
 * A per-subject count with its limit. Without authentication every caller is the same
 * anonymous subject, so the limit is off then, as for connections.
 */
function perSubject(limit: number) {
  return { ...createConnectionLimiter(limit), limit };
}

/** The event engine: where state lives, how changes are committed and published, and the feeds that deliver them. */
export interface Domain {
  backend: Backend;
  feeds: ProjectFeeds;
  services: Services;
  /** Fails work whose producer vanished; undefined unless ABANDONED_AFTER_SECONDS is set. */
  abandonedWork?: AbandonedWorkSweeper;
  /** Drops the expired idempotency records of projects that stopped writing. */
  idempotencyRecords: RecordSweeper;
  /** Stops timers and feeds, then closes the backend's clients. */
  close(): Promise<void>;
}

/**
 * Wires the domain: the backend (in process or Redis), whose store commits a change with its
 * events and publishes them in the same step, the change applier on top of it, one ordered
 * feed per watched project, and the services on top.
 */
export function createDomain(config: Config, logger: Logger, metrics: Metrics): Domain {
  const backend = createBackend(config, logger, metrics);
  // The backend names the channels: sharded ones, in their project's slot, on a Redis Cluster.
  const { channelFor } = backend;

  const committed = (events: EventRecord[]) => {
    for (const event of events) metrics.eventsPublished.inc({ type: event.type });
  };
  const domain = { store: backend.store, changes: createChangeApplier({ store: backend.store, committed }) };
  const feeds = createProjectFeeds({
    pubsub: backend.pubsub,
    channelFor,
    log: backend.store,
    gapTimeoutMs: config.gapTimeoutMs,
    onDeliver: (event) => metrics.deliveryLatency.observe((Date.now() - Date.parse(event.occurredAt)) / 1000),
    onError: (error) => logger.error({ err: error }, 'project feed error'),
    onGapFilled: (projectId, range) => {
      metrics.gapFilledEvents.inc(range.toSeq - range.fromSeq + 1 - range.lost);
      logger.warn({ projectId, ...range }, 'read events missed live from the log');
    },
  });
  backend.onReconnect(() => {
    logger.warn('Redis subscriber reconnected; catching up from the event logs');
    void feeds.catchUp();
  });

  const clock = config.now ?? Date.now;
  const now = () => new Date(clock());
  const services: Services = {
    ingest: createIngestService(domain, now),
    agent: createAgentService(
      {
        ...domain,
        limits: config.entityLimits,
        deltaWindowMs: config.agentDeltaWindowMs,
        onError: (error) => logger.warn({ err: error }, 'streamed text not sent yet; it goes out with the next delta or the finish'),
      },
      now,
    ),
    workflow: createWorkflowService({ ...domain, limits: config.entityLimits }, now),
    streams: createEventStreams({
      feeds,
      store: backend.store,
      maxQueuedEvents: config.limits.maxQueuedEvents,
      replays: perSubject(config.auth ? config.limits.maxReplaysPerSubject : Number.POSITIVE_INFINITY),
      replayStallMs: config.limits.replayStallMs,
      subscriptions: perSubject(config.auth ? config.limits.maxSubscriptionsPerSubject : Number.POSITIVE_INFINITY),
      metrics,
    }),
  };

  const { abandonedAfterMs } = config.producing;
  const abandonedWork =
    abandonedAfterMs > 0
      ? createAbandonedWorkSweeper({ store: backend.store, ...services, afterMs: abandonedAfterMs, now: clock, logger })
      : undefined;

  const idempotencyRecords = createRecordSweeper({ store: backend.store, windowMs: config.producing.idempotencyWindowMs, logger });

  return {
    backend,
    feeds,
    services,
    abandonedWork,
    idempotencyRecords,
    async close() {
      await abandonedWork?.stop();
      await idempotencyRecords.stop();
      services.agent.dispose();
      feeds.close();
      await backend.close();
    },
  };
}
