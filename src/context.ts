import type { AgentService } from './agent/agent-service.js';
import type { EventStreams } from './events/event-streams.js';
import type { IngestService } from './ingest/ingest-service.js';
import type { WorkflowService } from './workflow/workflow-service.js';

/** What every resolver receives: the domain services and the event streams. */
export interface GraphQLContext {
  ingest: IngestService;
  agent: AgentService;
  workflow: WorkflowService;
  streams: EventStreams;
}
