export type { ConnectionStatus } from './connection-status.js';
export type { EventsClient, EventsClientOptions } from './events-client.js';
export { createEventsClient } from './events-client.js';
export { EventsProvider, useConnectionStatus } from './provider.js';
export type { StreamView } from './hooks/use-project-stream.js';
export type { IngestJob, IngestJobStreamOptions, IngestJobStreamView } from './hooks/use-ingest-job-stream.js';
export { useIngestJobStream } from './hooks/use-ingest-job-stream.js';
export type { AgentRun, AgentRunStreamOptions, AgentRunStreamView } from './hooks/use-agent-run-stream.js';
export { useAgentRunStream } from './hooks/use-agent-run-stream.js';
export type { WorkflowNodeState, WorkflowNodeStatesOptions, WorkflowNodeStatesView, WorkflowRun } from './hooks/use-workflow-node-states.js';
export { useWorkflowNodeStates } from './hooks/use-workflow-node-states.js';
export type { AgentMessageDelta, AgentRunChange } from './merge-agent-run.js';
export type { WorkflowRunChange } from './merge-workflow-run.js';
export { subscribeResumable } from './resumable-subscription.js';
export type { ResumableRequest, ResumableSubscription, SubscribingClient } from './resumable-subscription.js';
export { resumableExchange } from './resumable-exchange.js';
export { DEFAULT_MESSAGE_LIMIT } from './merge-agent-run.js';
export { DEFAULT_ENTITY_LIMIT } from './merge.js';
export * from './operations.js';
export type { EntityState } from './merge.js';
// The schema's enums (as string unions) and the shapes each operation returns, so an app
// names `IngestJobStatus` rather than `IngestJob['status']`.
export type {
  AgentMessageFieldsFragment as AgentMessage,
  AgentRunMessagesQuery as AgentRunMessagesResult,
  AgentRunMessagesQueryVariables as AgentRunMessagesVariables,
  AgentRunStatus,
  AgentRunStreamSubscription as AgentRunStreamResult,
  AgentRunStreamSubscriptionVariables as AgentRunStreamVariables,
  AgentRunSummaryFieldsFragment as AgentRunSummary,
  AgentStepFieldsFragment as AgentStep,
  EventType,
  IngestJobStatus,
  IngestJobStreamSubscription as IngestJobStreamResult,
  IngestJobStreamSubscriptionVariables as IngestJobStreamVariables,
  MessageRole,
  MessageStatus,
  NodeStatus,
  ProjectSnapshotQuery as ProjectSnapshotResult,
  ProjectSnapshotQueryVariables as ProjectSnapshotVariables,
  StepStatus,
  WorkflowRunStatus,
  WorkflowRunSummaryFieldsFragment as WorkflowRunSummary,
  WorkflowStreamSubscription as WorkflowStreamResult,
  WorkflowStreamSubscriptionVariables as WorkflowStreamVariables,
} from './generated/graphql.js';
