import type { AgentService } from './agent/agent-service.js';
import type { Access, Viewer } from './auth/viewer.js';
import type { EventStreams } from './events/event-streams.js';
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
  /**
   * The transport counts this stream's deliveries and subscribers itself (a shared WebSocket
   * audience, whose one stream serves many subscriptions).
   */
  countedByTransport?: boolean;
}
