/**
 * Jobs, runs and their parts as they are stored and carried by events: the schema's types
 * without `__typename`, with each collection member's position.
 */
import type {
  AgentMessage,
  AgentRunSummary,
  AgentStep,
  IngestJob,
  NodeStatusCounts,
  WorkflowNodeState,
  WorkflowRunSummary,
} from '../generated/resolvers-types.js';

type Stored<T> = Omit<T, '__typename'>;

export type IngestJobRecord = Stored<IngestJob>;
/** An agent run as stored: its summary. Steps and messages are stored apart, one by one. */
export type AgentRunRecord = Stored<AgentRunSummary>;
/** A workflow run as stored: its summary. Nodes are stored apart, one by one. */
export type WorkflowRunRecord = Stored<Omit<WorkflowRunSummary, 'nodeCounts'>> & { nodeCounts: Stored<NodeStatusCounts> };
/** `index` keeps the order in which steps were first reported. */
export type AgentStepRecord = Stored<AgentStep> & { index: number };
export type AgentMessageRecord = Stored<AgentMessage>;
/** `index` keeps the order in which the run named its nodes. */
export type WorkflowNodeRecord = Stored<WorkflowNodeState> & { index: number };

