import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The server's Prometheus metrics, in a registry of its own (several apps can share a
 * process in tests). Labels are bounded: transport, field, event type, operation type,
 * error code, Redis role; never a project or a user.
 */
let processRegistry: Registry | undefined;

/**
 * Node's process metrics, collected once per process: they describe the process, and
 * collecting them starts monitors (event-loop delay, GC observer) that are never stopped.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];

  // Counted per delivery on the hot path as a plain number, read when Prometheus scrapes.
  let delivered = 0;
  let replayed = 0;

  new Counter({
    name: 'rte_deliveries_total',
    help: 'Events handed to subscribers',
    registers,
    collect() {
      this.reset();
      this.inc(delivered);
    },
  });
  new Counter({
    name: 'rte_replayed_events_total',
    help: 'Events replayed from the log to resuming subscribers',
    registers,
    collect() {
      this.reset();
      this.inc(replayed);
    },
  });

  return {
    registry,
    /** This app's metrics and the process's, in Prometheus text format, as `/metrics` serves them. */
    scrape: () => Registry.merge([processMetrics(), registry]).metrics(),
    contentType: registry.contentType,
    connections: new Gauge({ name: 'rte_connections', help: 'Open client connections', labelNames: ['transport'], registers }),
    /** `mode`: `shared` for members of a shared audience, `private` for subscriptions executing on their own. */
    subscriptions: new Gauge({ name: 'rte_subscriptions', help: 'Active subscriptions', labelNames: ['field', 'mode'], registers }),
    eventsPublished: new Counter({ name: 'rte_events_published_total', help: 'Events accepted and published', labelNames: ['type'], registers }),
    deliveryLatency: new Histogram({
      name: 'rte_delivery_latency_seconds',
      help: 'From an event being accepted to its delivery to this instance’s subscribers',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    slowConsumers: new Counter({
      name: 'rte_slow_consumer_disconnects_total',
      help: 'Connections or streams ended because their consumer fell behind',
      labelNames: ['transport'],
      registers,
    }),
    resumes: new Counter({ name: 'rte_resumes_total', help: 'Subscriptions started with after', registers }),
    cursorExpired: new Counter({ name: 'rte_cursor_expired_total', help: 'Resumes and history reads refused with CURSOR_EXPIRED', registers }),
    gapFilledEvents: new Counter({ name: 'rte_gap_filled_events_total', help: 'Events missed live and read from the log', registers }),
    redisUp: new Gauge({ name: 'rte_redis_up', help: '1 while the Redis connection is ready', labelNames: ['role'], registers }),
    operationDuration: new Histogram({
      name: 'rte_graphql_operation_duration_seconds',
      help: 'Query and mutation execution time',
      labelNames: ['operation'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    operationErrors: new Counter({ name: 'rte_graphql_errors_total', help: 'Errors in results, by code', labelNames: ['code'], registers }),
    /** One event handed to one subscriber. */
    delivered: () => void delivered++,
    /** `count` events replayed from the log to a resuming subscriber. */
    replayed: (count: number) => void (replayed += count),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
