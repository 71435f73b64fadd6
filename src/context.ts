import type { AgentService } from './agent/agent-service.js';
import type { ProjectFeeds } from './events/project-feeds.js';
import type { IngestService } from './ingest/ingest-service.js';
import type { WorkflowService } from './workflow/workflow-service.js';

/** What every resolver receives: the domain services and the live project feeds. */
export interface GraphQLContext {
  ingest: IngestService;
  agent: AgentService;
  workflow: WorkflowService;
  feeds: ProjectFeeds;
}
