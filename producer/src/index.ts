export type {
  AgentMessage,
  CallOptions,
  MessageRole,
  MutationArgs,
  MutationName,
  MutationResult,
  Producer,
  ProducerMutations,
  ProducerOptions,
  TokenSource,
} from './producer.js';
export { createProducer } from './producer.js';
export type { AgentMessageWriter } from './message-writer.js';
export { MAX_PIECE_LENGTH } from './message-writer.js';
export type { ProducerFailureCode } from './errors.js';
export { ProducerError, isRetryable } from './errors.js';
export type { RetryOptions } from './retry.js';
export type { FetchLike } from './transport.js';
export { MUTATIONS } from './operations.js';
export type {
  IngestJobFieldsFragment as IngestJob,
  AgentRunResultFieldsFragment as AgentRun,
  WorkflowRunResultFieldsFragment as WorkflowRun,
  IngestJobStatus,
  AgentRunStatus,
  StepStatus,
  MessageStatus,
  NodeStatus,
  WorkflowRunStatus,
} from './generated/graphql.js';
