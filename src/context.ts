import type { AgentService } from './agent/agent-service.js';
import type { Access, Viewer } from './auth/viewer.js';
import type { LogPosition } from './events/event-record.js';
import type { AudienceSourceTap, EventStreams } from './events/event-streams.js';
import type { RequestIdempotency } from './idempotency/request-idempotency.js';
import type { IngestService } from './ingest/ingest-service.js';
import type { WorkflowService } from './workflow/workflow-service.js';

/** What every resolver receives: the services, and who is calling over which connection. */
export interface GraphQLContext {
  ingest: IngestService;
  agent: AgentService;
  workflow: WorkflowService;
  streams: EventStreams;
  viewer: Viewer;
  /** `viewer`'s rights as the services check them. */
  access: Access;
  /** Called when a subscription of this connection falls too far behind; ends the connection. */
  onSlowConsumer?: () => void;
  /**
   * For streams that are connections of their own (SSE): takes one of the subject's
   * connection slots, or throws RATE_LIMITED; returns its release.
   */
  holdConnection?: () => () => void;
  /** Set when this execution feeds a shared audience; see `Caller.audienceSource`. */
  audienceSource?: AudienceSourceTap;
  /** Set when this execution only replays a resuming member of a shared audience; see `Caller.replayUntil`. */
  replayUntil?: LogPosition;
  /**
   * What is left of a query's or mutation's response budget, in bytes: paged fields pass it to
   * the store, which refuses a page larger than that before reading it. See `responseLimitPlugins`.
   */
  responseBytesLeft?: () => number;
  /** A mutation's idempotency key, when it carries one; see `idempotencyPlugin`. */
  idempotency?: RequestIdempotency;
}
