import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { EventRecord, IngestJobEventRecord, AgentRunEventRecord, WorkflowEventRecord } from '../events/event-record.js';
import type { ProjectSnapshotModel } from '../events/event-streams.js';
import type { IngestJobRecord, AgentRunRecord, AgentStepRecord, WorkflowRunRecord, WorkflowNodeRecord } from '../store/records.js';
import type { AgentMessageModel } from '../agent/agent-service.js';
import type { GraphQLContext } from '../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An ISO-8601 timestamp in UTC with millisecond precision, for example `2026-11-23T22:03:00.000Z`. */
  DateTime: { input: string; output: string; }
};

export type AgentMessage = {
  __typename?: 'AgentMessage';
  /** The content so far: all of it once the message is COMPLETE. */
  content: Scalars['String']['output'];
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  /** Position in its run: 0 for the first message, then consecutive. */
  index: Scalars['Int']['output'];
  role: MessageRole;
  status: MessageStatus;
};

/**
 * Text added to a streaming message. At most one delta per message per short window: text
 * stored when the message's last delta is a window old goes out at once, and what comes
 * within the window after it goes out as one when the window ends. `offset` is where `text` starts in the message's content, counted in UTF-16
 * code units (JavaScript's string length): apply a delta only where it extends what you have,
 * and a delta whose offset is past your content's end means you missed one.
 */
export type AgentMessageDelta = {
  __typename?: 'AgentMessageDelta';
  messageId: Scalars['ID']['output'];
  offset: Scalars['Int']['output'];
  text: Scalars['String']['output'];
};

/**
 * An agent run with its steps and messages. Messages are read a page at a time: a run may
 * have thousands of them.
 */
export type AgentRun = {
  __typename?: 'AgentRun';
  agent: Scalars['String']['output'];
  createdAt: Scalars['DateTime']['output'];
  error?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  messageCount: Scalars['Int']['output'];
  /**
   * One page of messages, in the order they were appended (by `index`): the `last` (default
   * 50) before index `before`, or the `first` after index `after`. A page holds at most 500.
   * Page back by passing the lowest `index` you hold as `before`. Pages end at `messageCount`,
   * so they agree with the run's other fields.
   */
  messages: Array<AgentMessage>;
  output?: Maybe<Scalars['String']['output']>;
  projectId: Scalars['ID']['output'];
  status: AgentRunStatus;
  stepCount: Scalars['Int']['output'];
  /** Steps in the order they were first reported. */
  steps: Array<AgentStep>;
  updatedAt: Scalars['DateTime']['output'];
};


/**
 * An agent run with its steps and messages. Messages are read a page at a time: a run may
 * have thousands of them.
 */
export type AgentRunMessagesArgs = {
  after?: InputMaybe<Scalars['Int']['input']>;
  before?: InputMaybe<Scalars['Int']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};

/**
 * An event of an agent run. It carries what changed (the step or the message) and the run's
 * summary, never the run's earlier steps or messages: its size follows the change, not the
 * length of the run.
 */
export type AgentRunEvent = Event & {
  __typename?: 'AgentRunEvent';
  cursor: Scalars['String']['output'];
  /**
   * The message that was appended, for AGENT_MESSAGE_APPENDED (a streaming one with empty
   * content); the whole message, for AGENT_MESSAGE_COMPLETED.
   */
  message?: Maybe<AgentMessage>;
  /** Text added to a streaming message, for AGENT_MESSAGE_DELTA. */
  messageDelta?: Maybe<AgentMessageDelta>;
  occurredAt: Scalars['DateTime']['output'];
  projectId: Scalars['ID']['output'];
  /** The run's summary right after this event: status, counts, output or error, timestamps. */
  run: AgentRunSummary;
  /** The step that changed, for AGENT_STEP_UPDATED. */
  step?: Maybe<AgentStep>;
  type: EventType;
};

export type AgentRunStatus =
  | 'COMPLETED'
  | 'FAILED'
  | 'PENDING'
  | 'RUNNING';

/**
 * What an agent run is, without its steps and messages: small and of bounded size, so that
 * every event can carry it.
 */
export type AgentRunSummary = {
  __typename?: 'AgentRunSummary';
  agent: Scalars['String']['output'];
  createdAt: Scalars['DateTime']['output'];
  error?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  messageCount: Scalars['Int']['output'];
  output?: Maybe<Scalars['String']['output']>;
  projectId: Scalars['ID']['output'];
  status: AgentRunStatus;
  stepCount: Scalars['Int']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

export type AgentStep = {
  __typename?: 'AgentStep';
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  status: StepStatus;
};

/** A change that happened in a project. Events of one project are totally ordered. */
export type Event = {
  /**
   * Opaque position of this event in its project's ordered event log. Within a
   * project, later events have later cursors.
   */
  cursor: Scalars['String']['output'];
  occurredAt: Scalars['DateTime']['output'];
  projectId: Scalars['ID']['output'];
  type: EventType;
};

export type EventType =
  | 'AGENT_MESSAGE_APPENDED'
  | 'AGENT_MESSAGE_COMPLETED'
  | 'AGENT_MESSAGE_DELTA'
  | 'AGENT_RUN_COMPLETED'
  | 'AGENT_RUN_CREATED'
  | 'AGENT_RUN_FAILED'
  | 'AGENT_RUN_UPDATED'
  | 'AGENT_STEP_UPDATED'
  | 'INGEST_JOB_COMPLETED'
  | 'INGEST_JOB_CREATED'
  | 'INGEST_JOB_FAILED'
  | 'INGEST_JOB_UPDATED'
  | 'WORKFLOW_NODE_STATE_UPDATED'
  | 'WORKFLOW_RUN_UPDATED';

export type IngestJob = {
  __typename?: 'IngestJob';
  createdAt: Scalars['DateTime']['output'];
  error?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  message?: Maybe<Scalars['String']['output']>;
  processedItems?: Maybe<Scalars['Int']['output']>;
  /** Fraction done, from 0 to 1. */
  progress: Scalars['Float']['output'];
  projectId: Scalars['ID']['output'];
  source: Scalars['String']['output'];
  status: IngestJobStatus;
  totalItems?: Maybe<Scalars['Int']['output']>;
  updatedAt: Scalars['DateTime']['output'];
};

export type IngestJobEvent = Event & {
  __typename?: 'IngestJobEvent';
  cursor: Scalars['String']['output'];
  /** The job as it was right after this event. */
  job: IngestJob;
  occurredAt: Scalars['DateTime']['output'];
  projectId: Scalars['ID']['output'];
  type: EventType;
};

export type IngestJobStatus =
  | 'COMPLETED'
  | 'FAILED'
  | 'PENDING'
  | 'RUNNING';

export type MessageRole =
  | 'ASSISTANT'
  | 'SYSTEM'
  | 'TOOL'
  | 'USER';

export type MessageStatus =
  | 'COMPLETE'
  /** Being written: AGENT_MESSAGE_DELTA events add to its content. */
  | 'STREAMING';

export type Mutation = {
  __typename?: 'Mutation';
  /**
   * Emits AGENT_MESSAGE_APPENDED. A run holds at most MAX_MESSAGES_PER_RUN messages; one
   * more is refused with BAD_USER_INPUT.
   */
  appendAgentMessage: AgentMessage;
  /**
   * Appends `text` (at most 10,000 characters; a message at most 100,000) to a STREAMING
   * message and returns once it is stored. Emits AGENT_MESSAGE_DELTA, at most one per message
   * per AGENT_DELTA_WINDOW_MS: at once when the message's last delta is a window old, else
   * with the rest of the window's text when it ends. INVALID_TRANSITION when the
   * message is COMPLETE or the run has finished.
   */
  appendAgentMessageContent: AgentMessage;
  /**
   * Emits AGENT_RUN_COMPLETED, after finishing any message still STREAMING (its remaining
   * AGENT_MESSAGE_DELTA and AGENT_MESSAGE_COMPLETED first).
   */
  completeAgentRun: AgentRun;
  /** Emits INGEST_JOB_COMPLETED; progress becomes 1. */
  completeIngestJob: IngestJob;
  /** Emits INGEST_JOB_CREATED. */
  createIngestJob: IngestJob;
  /** Emits AGENT_RUN_FAILED, after finishing any message still STREAMING, as completeAgentRun. */
  failAgentRun: AgentRun;
  /** Emits INGEST_JOB_FAILED. */
  failIngestJob: IngestJob;
  /**
   * Marks a STREAMING message COMPLETE. Emits any text not yet sent as AGENT_MESSAGE_DELTA,
   * then AGENT_MESSAGE_COMPLETED with the whole message.
   */
  finishAgentMessage: AgentMessage;
  /** Ends a running workflow with SUCCEEDED, FAILED or CANCELLED. Emits WORKFLOW_RUN_UPDATED. */
  finishWorkflowRun: WorkflowRun;
  /**
   * Starts a message whose content will be streamed: STREAMING, with empty content. Emits
   * AGENT_MESSAGE_APPENDED. Counts against MAX_MESSAGES_PER_RUN like any message.
   */
  startAgentMessage: AgentMessage;
  /** Emits AGENT_RUN_CREATED. */
  startAgentRun: AgentRun;
  /**
   * Starts a run whose nodes are all PENDING (at most MAX_NODES_PER_WORKFLOW). Emits
   * WORKFLOW_RUN_UPDATED with status RUNNING and every node.
   */
  startWorkflowRun: WorkflowRun;
  /**
   * Creates or updates a step (at most MAX_STEPS_PER_RUN per run). Emits AGENT_STEP_UPDATED,
   * preceded by AGENT_RUN_UPDATED when it moves the run from PENDING to RUNNING.
   */
  updateAgentStep: AgentRun;
  /** Emits INGEST_JOB_UPDATED; a PENDING job becomes RUNNING. */
  updateIngestJobProgress: IngestJob;
  /** Emits WORKFLOW_NODE_STATE_UPDATED. */
  updateWorkflowNodeState: WorkflowRun;
};


export type MutationAppendAgentMessageArgs = {
  content: Scalars['String']['input'];
  role: MessageRole;
  runId: Scalars['ID']['input'];
};


export type MutationAppendAgentMessageContentArgs = {
  messageId: Scalars['ID']['input'];
  offset?: InputMaybe<Scalars['Int']['input']>;
  runId: Scalars['ID']['input'];
  text: Scalars['String']['input'];
};


export type MutationCompleteAgentRunArgs = {
  output?: InputMaybe<Scalars['String']['input']>;
  runId: Scalars['ID']['input'];
};


export type MutationCompleteIngestJobArgs = {
  id: Scalars['ID']['input'];
};


export type MutationCreateIngestJobArgs = {
  projectId: Scalars['ID']['input'];
  source: Scalars['String']['input'];
  totalItems?: InputMaybe<Scalars['Int']['input']>;
};


export type MutationFailAgentRunArgs = {
  error: Scalars['String']['input'];
  runId: Scalars['ID']['input'];
};


export type MutationFailIngestJobArgs = {
  error: Scalars['String']['input'];
  id: Scalars['ID']['input'];
};


export type MutationFinishAgentMessageArgs = {
  messageId: Scalars['ID']['input'];
  runId: Scalars['ID']['input'];
};


export type MutationFinishWorkflowRunArgs = {
  runId: Scalars['ID']['input'];
  status: WorkflowRunStatus;
};


export type MutationStartAgentMessageArgs = {
  role: MessageRole;
  runId: Scalars['ID']['input'];
};


export type MutationStartAgentRunArgs = {
  agent: Scalars['String']['input'];
  projectId: Scalars['ID']['input'];
};


export type MutationStartWorkflowRunArgs = {
  nodeIds: Array<Scalars['ID']['input']>;
  projectId: Scalars['ID']['input'];
  workflowId: Scalars['String']['input'];
};


export type MutationUpdateAgentStepArgs = {
  name: Scalars['String']['input'];
  runId: Scalars['ID']['input'];
  status: StepStatus;
  stepId: Scalars['ID']['input'];
};


export type MutationUpdateIngestJobProgressArgs = {
  id: Scalars['ID']['input'];
  message?: InputMaybe<Scalars['String']['input']>;
  processedItems?: InputMaybe<Scalars['Int']['input']>;
  progress: Scalars['Float']['input'];
};


export type MutationUpdateWorkflowNodeStateArgs = {
  error?: InputMaybe<Scalars['String']['input']>;
  nodeId: Scalars['ID']['input'];
  output?: InputMaybe<Scalars['String']['input']>;
  runId: Scalars['ID']['input'];
  status: NodeStatus;
};

export type NodeStatus =
  | 'FAILED'
  | 'PENDING'
  | 'RUNNING'
  | 'SKIPPED'
  | 'SUCCEEDED';

export type NodeStatusCounts = {
  __typename?: 'NodeStatusCounts';
  failed: Scalars['Int']['output'];
  pending: Scalars['Int']['output'];
  running: Scalars['Int']['output'];
  skipped: Scalars['Int']['output'];
  succeeded: Scalars['Int']['output'];
};

/**
 * A project's jobs and runs, together with the position in its event log that they reflect.
 * Subscribing with `after: cursor` delivers exactly the changes made since.
 *
 * Finished jobs and runs are kept for a retention period (`FINISHED_RETENTION_SECONDS`), then
 * leave. A run's own fields are read together with `cursor`; its `steps`, `messages` and
 * `nodes` are read as they are resolved and may already include some of the changes after
 * `cursor`. Those changes arrive again on the stream: merge steps by `id`, messages by
 * `index` and nodes by `nodeId`, and the result is exact.
 */
export type ProjectSnapshot = {
  __typename?: 'ProjectSnapshot';
  agentRuns: Array<AgentRun>;
  /** Position of the last event reflected here (`<epoch>:0` before the first event). */
  cursor: Scalars['String']['output'];
  ingestJobs: Array<IngestJob>;
  projectId: Scalars['ID']['output'];
  workflowRuns: Array<WorkflowRun>;
};

export type Query = {
  __typename?: 'Query';
  agentRun?: Maybe<AgentRun>;
  /** Agent runs of a project, oldest first. */
  agentRuns: Array<AgentRun>;
  /**
   * Retained events of a project after `after` (or from the oldest retained), oldest first,
   * optionally only the given types. Page by passing the last event's cursor as `after`.
   * `limit` defaults to 100 and may be at most 1000. A cursor whose successors are no longer
   * retained, or that belongs to another project or an earlier life of the log, is refused
   * with CURSOR_EXPIRED.
   */
  events: Array<Event>;
  ingestJob?: Maybe<IngestJob>;
  /** Jobs of a project, oldest first. */
  ingestJobs: Array<IngestJob>;
  /**
   * The project's jobs and runs and the log position they reflect, read in one atomic step:
   * load this, then subscribe with `after: cursor`, and no change slips between the two.
   */
  projectSnapshot: ProjectSnapshot;
  workflowRun?: Maybe<WorkflowRun>;
  /** Workflow runs of a project, oldest first. */
  workflowRuns: Array<WorkflowRun>;
};


export type QueryAgentRunArgs = {
  id: Scalars['ID']['input'];
};


export type QueryAgentRunsArgs = {
  projectId: Scalars['ID']['input'];
};


export type QueryEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  limit?: InputMaybe<Scalars['Int']['input']>;
  projectId: Scalars['ID']['input'];
  types?: InputMaybe<Array<EventType>>;
};


export type QueryIngestJobArgs = {
  id: Scalars['ID']['input'];
};


export type QueryIngestJobsArgs = {
  projectId: Scalars['ID']['input'];
};


export type QueryProjectSnapshotArgs = {
  projectId: Scalars['ID']['input'];
};


export type QueryWorkflowRunArgs = {
  id: Scalars['ID']['input'];
};


export type QueryWorkflowRunsArgs = {
  projectId: Scalars['ID']['input'];
};

export type StepStatus =
  | 'COMPLETED'
  | 'FAILED'
  | 'PENDING'
  | 'RUNNING'
  | 'SKIPPED';

/**
 * Every stream starts live. With `after` (a cursor from an event, a snapshot or the history)
 * it first delivers the retained events after that cursor that match its filters, in log
 * order, then continues live with no gap and no repeat. A cursor that cannot be resumed is
 * refused with CURSOR_EXPIRED before any event is sent; a malformed one with BAD_USER_INPUT.
 */
export type Subscription = {
  __typename?: 'Subscription';
  /** Agent run events of a project, or of one run. */
  agentRun: AgentRunEvent;
  /**
   * Ingest job events of a project, or of one job. With `coalesceMs` (10 to 60000), progress
   * updates of a job that arrive within that window are delivered as one, the latest; every
   * other event is delivered at once, after any updates waiting before it, so nothing is
   * reordered and the last state always arrives.
   */
  ingestJob: IngestJobEvent;
  /** Every event of a project, optionally only the given types. */
  projectEvents: Event;
  /** WORKFLOW_NODE_STATE_UPDATED and WORKFLOW_RUN_UPDATED events of a project, or of one run. */
  workflowNodeState: WorkflowEvent;
};


/**
 * Every stream starts live. With `after` (a cursor from an event, a snapshot or the history)
 * it first delivers the retained events after that cursor that match its filters, in log
 * order, then continues live with no gap and no repeat. A cursor that cannot be resumed is
 * refused with CURSOR_EXPIRED before any event is sent; a malformed one with BAD_USER_INPUT.
 */
export type SubscriptionAgentRunArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  projectId: Scalars['ID']['input'];
  runId?: InputMaybe<Scalars['ID']['input']>;
};


/**
 * Every stream starts live. With `after` (a cursor from an event, a snapshot or the history)
 * it first delivers the retained events after that cursor that match its filters, in log
 * order, then continues live with no gap and no repeat. A cursor that cannot be resumed is
 * refused with CURSOR_EXPIRED before any event is sent; a malformed one with BAD_USER_INPUT.
 */
export type SubscriptionIngestJobArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  coalesceMs?: InputMaybe<Scalars['Int']['input']>;
  jobId?: InputMaybe<Scalars['ID']['input']>;
  projectId: Scalars['ID']['input'];
};


/**
 * Every stream starts live. With `after` (a cursor from an event, a snapshot or the history)
 * it first delivers the retained events after that cursor that match its filters, in log
 * order, then continues live with no gap and no repeat. A cursor that cannot be resumed is
 * refused with CURSOR_EXPIRED before any event is sent; a malformed one with BAD_USER_INPUT.
 */
export type SubscriptionProjectEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  projectId: Scalars['ID']['input'];
  types?: InputMaybe<Array<EventType>>;
};


/**
 * Every stream starts live. With `after` (a cursor from an event, a snapshot or the history)
 * it first delivers the retained events after that cursor that match its filters, in log
 * order, then continues live with no gap and no repeat. A cursor that cannot be resumed is
 * refused with CURSOR_EXPIRED before any event is sent; a malformed one with BAD_USER_INPUT.
 */
export type SubscriptionWorkflowNodeStateArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  projectId: Scalars['ID']['input'];
  runId?: InputMaybe<Scalars['ID']['input']>;
};

/**
 * An event of a workflow run: the node that changed and the run's summary, never the other
 * nodes (except on the event that starts the run, whose change is the whole node list).
 */
export type WorkflowEvent = Event & {
  __typename?: 'WorkflowEvent';
  cursor: Scalars['String']['output'];
  /** The node that changed, for WORKFLOW_NODE_STATE_UPDATED. */
  nodeState?: Maybe<WorkflowNodeState>;
  /**
   * Every node of the run, all PENDING, on the WORKFLOW_RUN_UPDATED that started it; null on
   * every other event.
   */
  nodes?: Maybe<Array<WorkflowNodeState>>;
  occurredAt: Scalars['DateTime']['output'];
  projectId: Scalars['ID']['output'];
  /** The run's summary right after this event: status, node counts, timestamps. */
  run: WorkflowRunSummary;
  type: EventType;
};

export type WorkflowNodeState = {
  __typename?: 'WorkflowNodeState';
  error?: Maybe<Scalars['String']['output']>;
  nodeId: Scalars['ID']['output'];
  output?: Maybe<Scalars['String']['output']>;
  status: NodeStatus;
  updatedAt: Scalars['DateTime']['output'];
};

export type WorkflowRun = {
  __typename?: 'WorkflowRun';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  nodeCount: Scalars['Int']['output'];
  /** How many nodes are in each status. */
  nodeCounts: NodeStatusCounts;
  /** Node states in the order the node ids were given when the run started. */
  nodes: Array<WorkflowNodeState>;
  projectId: Scalars['ID']['output'];
  status: WorkflowRunStatus;
  updatedAt: Scalars['DateTime']['output'];
  workflowId: Scalars['String']['output'];
};

export type WorkflowRunStatus =
  | 'CANCELLED'
  | 'FAILED'
  | 'PENDING'
  | 'RUNNING'
  | 'SUCCEEDED';

/** What a workflow run is, without its nodes: small enough for every event to carry. */
export type WorkflowRunSummary = {
  __typename?: 'WorkflowRunSummary';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  nodeCount: Scalars['Int']['output'];
  /** How many nodes are in each status. */
  nodeCounts: NodeStatusCounts;
  projectId: Scalars['ID']['output'];
  status: WorkflowRunStatus;
  updatedAt: Scalars['DateTime']['output'];
  workflowId: Scalars['String']['output'];
};



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  AgentMessage: ResolverTypeWrapper<AgentMessageModel>;
  AgentMessageDelta: ResolverTypeWrapper<AgentMessageDelta>;
  AgentRun: ResolverTypeWrapper<AgentRunRecord>;
  AgentRunEvent: ResolverTypeWrapper<AgentRunEventRecord>;
  AgentRunStatus: AgentRunStatus;
  AgentRunSummary: ResolverTypeWrapper<AgentRunRecord>;
  AgentStep: ResolverTypeWrapper<AgentStepRecord>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  Event: ResolverTypeWrapper<EventRecord>;
  EventType: EventType;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  IngestJob: ResolverTypeWrapper<IngestJobRecord>;
  IngestJobEvent: ResolverTypeWrapper<IngestJobEventRecord>;
  IngestJobStatus: IngestJobStatus;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  MessageRole: MessageRole;
  MessageStatus: MessageStatus;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  NodeStatus: NodeStatus;
  NodeStatusCounts: ResolverTypeWrapper<NodeStatusCounts>;
  ProjectSnapshot: ResolverTypeWrapper<ProjectSnapshotModel>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  StepStatus: StepStatus;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  WorkflowEvent: ResolverTypeWrapper<WorkflowEventRecord>;
  WorkflowNodeState: ResolverTypeWrapper<WorkflowNodeRecord>;
  WorkflowRun: ResolverTypeWrapper<WorkflowRunRecord>;
  WorkflowRunStatus: WorkflowRunStatus;
  WorkflowRunSummary: ResolverTypeWrapper<WorkflowRunRecord>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  AgentMessage: AgentMessageModel;
  AgentMessageDelta: AgentMessageDelta;
  AgentRun: AgentRunRecord;
  AgentRunEvent: AgentRunEventRecord;
  AgentRunSummary: AgentRunRecord;
  AgentStep: AgentStepRecord;
  Boolean: Scalars['Boolean']['output'];
  DateTime: Scalars['DateTime']['output'];
  Event: EventRecord;
  Float: Scalars['Float']['output'];
  ID: Scalars['ID']['output'];
  IngestJob: IngestJobRecord;
  IngestJobEvent: IngestJobEventRecord;
  Int: Scalars['Int']['output'];
  Mutation: Record<PropertyKey, never>;
  NodeStatusCounts: NodeStatusCounts;
  ProjectSnapshot: ProjectSnapshotModel;
  Query: Record<PropertyKey, never>;
  String: Scalars['String']['output'];
  Subscription: Record<PropertyKey, never>;
  WorkflowEvent: WorkflowEventRecord;
  WorkflowNodeState: WorkflowNodeRecord;
  WorkflowRun: WorkflowRunRecord;
  WorkflowRunSummary: WorkflowRunRecord;
};

export type AgentMessageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AgentMessage'] = ResolversParentTypes['AgentMessage']> = {
  content?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  index?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['MessageRole'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['MessageStatus'], ParentType, ContextType>;
};

export type AgentMessageDeltaResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AgentMessageDelta'] = ResolversParentTypes['AgentMessageDelta']> = {
  messageId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  offset?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  text?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type AgentRunResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AgentRun'] = ResolversParentTypes['AgentRun']> = {
  agent?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  messageCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  messages?: Resolver<Array<ResolversTypes['AgentMessage']>, ParentType, ContextType, Partial<AgentRunMessagesArgs>>;
  output?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['AgentRunStatus'], ParentType, ContextType>;
  stepCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  steps?: Resolver<Array<ResolversTypes['AgentStep']>, ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type AgentRunEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AgentRunEvent'] = ResolversParentTypes['AgentRunEvent']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<Maybe<ResolversTypes['AgentMessage']>, ParentType, ContextType>;
  messageDelta?: Resolver<Maybe<ResolversTypes['AgentMessageDelta']>, ParentType, ContextType>;
  occurredAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  run?: Resolver<ResolversTypes['AgentRunSummary'], ParentType, ContextType>;
  step?: Resolver<Maybe<ResolversTypes['AgentStep']>, ParentType, ContextType>;
  type?: Resolver<ResolversTypes['EventType'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type AgentRunSummaryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AgentRunSummary'] = ResolversParentTypes['AgentRunSummary']> = {
  agent?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  messageCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  output?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['AgentRunStatus'], ParentType, ContextType>;
  stepCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type AgentStepResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AgentStep'] = ResolversParentTypes['AgentStep']> = {
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['StepStatus'], ParentType, ContextType>;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type EventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Event'] = ResolversParentTypes['Event']> = {
  __resolveType: TypeResolveFn<'AgentRunEvent' | 'IngestJobEvent' | 'WorkflowEvent', ParentType, ContextType>;
};

export type IngestJobResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['IngestJob'] = ResolversParentTypes['IngestJob']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  message?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  processedItems?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  progress?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  source?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['IngestJobStatus'], ParentType, ContextType>;
  totalItems?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type IngestJobEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['IngestJobEvent'] = ResolversParentTypes['IngestJobEvent']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  job?: Resolver<ResolversTypes['IngestJob'], ParentType, ContextType>;
  occurredAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  type?: Resolver<ResolversTypes['EventType'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type MutationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  appendAgentMessage?: Resolver<ResolversTypes['AgentMessage'], ParentType, ContextType, RequireFields<MutationAppendAgentMessageArgs, 'content' | 'role' | 'runId'>>;
  appendAgentMessageContent?: Resolver<ResolversTypes['AgentMessage'], ParentType, ContextType, RequireFields<MutationAppendAgentMessageContentArgs, 'messageId' | 'runId' | 'text'>>;
  completeAgentRun?: Resolver<ResolversTypes['AgentRun'], ParentType, ContextType, RequireFields<MutationCompleteAgentRunArgs, 'runId'>>;
  completeIngestJob?: Resolver<ResolversTypes['IngestJob'], ParentType, ContextType, RequireFields<MutationCompleteIngestJobArgs, 'id'>>;
  createIngestJob?: Resolver<ResolversTypes['IngestJob'], ParentType, ContextType, RequireFields<MutationCreateIngestJobArgs, 'projectId' | 'source'>>;
  failAgentRun?: Resolver<ResolversTypes['AgentRun'], ParentType, ContextType, RequireFields<MutationFailAgentRunArgs, 'error' | 'runId'>>;
  failIngestJob?: Resolver<ResolversTypes['IngestJob'], ParentType, ContextType, RequireFields<MutationFailIngestJobArgs, 'error' | 'id'>>;
  finishAgentMessage?: Resolver<ResolversTypes['AgentMessage'], ParentType, ContextType, RequireFields<MutationFinishAgentMessageArgs, 'messageId' | 'runId'>>;
  finishWorkflowRun?: Resolver<ResolversTypes['WorkflowRun'], ParentType, ContextType, RequireFields<MutationFinishWorkflowRunArgs, 'runId' | 'status'>>;
  startAgentMessage?: Resolver<ResolversTypes['AgentMessage'], ParentType, ContextType, RequireFields<MutationStartAgentMessageArgs, 'role' | 'runId'>>;
  startAgentRun?: Resolver<ResolversTypes['AgentRun'], ParentType, ContextType, RequireFields<MutationStartAgentRunArgs, 'agent' | 'projectId'>>;
  startWorkflowRun?: Resolver<ResolversTypes['WorkflowRun'], ParentType, ContextType, RequireFields<MutationStartWorkflowRunArgs, 'nodeIds' | 'projectId' | 'workflowId'>>;
  updateAgentStep?: Resolver<ResolversTypes['AgentRun'], ParentType, ContextType, RequireFields<MutationUpdateAgentStepArgs, 'name' | 'runId' | 'status' | 'stepId'>>;
  updateIngestJobProgress?: Resolver<ResolversTypes['IngestJob'], ParentType, ContextType, RequireFields<MutationUpdateIngestJobProgressArgs, 'id' | 'progress'>>;
  updateWorkflowNodeState?: Resolver<ResolversTypes['WorkflowRun'], ParentType, ContextType, RequireFields<MutationUpdateWorkflowNodeStateArgs, 'nodeId' | 'runId' | 'status'>>;
};

export type NodeStatusCountsResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['NodeStatusCounts'] = ResolversParentTypes['NodeStatusCounts']> = {
  failed?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  pending?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  running?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  skipped?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  succeeded?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type ProjectSnapshotResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ProjectSnapshot'] = ResolversParentTypes['ProjectSnapshot']> = {
  agentRuns?: Resolver<Array<ResolversTypes['AgentRun']>, ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  ingestJobs?: Resolver<Array<ResolversTypes['IngestJob']>, ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  workflowRuns?: Resolver<Array<ResolversTypes['WorkflowRun']>, ParentType, ContextType>;
};

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  agentRun?: Resolver<Maybe<ResolversTypes['AgentRun']>, ParentType, ContextType, RequireFields<QueryAgentRunArgs, 'id'>>;
  agentRuns?: Resolver<Array<ResolversTypes['AgentRun']>, ParentType, ContextType, RequireFields<QueryAgentRunsArgs, 'projectId'>>;
  events?: Resolver<Array<ResolversTypes['Event']>, ParentType, ContextType, RequireFields<QueryEventsArgs, 'projectId'>>;
  ingestJob?: Resolver<Maybe<ResolversTypes['IngestJob']>, ParentType, ContextType, RequireFields<QueryIngestJobArgs, 'id'>>;
  ingestJobs?: Resolver<Array<ResolversTypes['IngestJob']>, ParentType, ContextType, RequireFields<QueryIngestJobsArgs, 'projectId'>>;
  projectSnapshot?: Resolver<ResolversTypes['ProjectSnapshot'], ParentType, ContextType, RequireFields<QueryProjectSnapshotArgs, 'projectId'>>;
  workflowRun?: Resolver<Maybe<ResolversTypes['WorkflowRun']>, ParentType, ContextType, RequireFields<QueryWorkflowRunArgs, 'id'>>;
  workflowRuns?: Resolver<Array<ResolversTypes['WorkflowRun']>, ParentType, ContextType, RequireFields<QueryWorkflowRunsArgs, 'projectId'>>;
};

export type SubscriptionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = {
  agentRun?: SubscriptionResolver<ResolversTypes['AgentRunEvent'], "agentRun", ParentType, ContextType, RequireFields<SubscriptionAgentRunArgs, 'projectId'>>;
  ingestJob?: SubscriptionResolver<ResolversTypes['IngestJobEvent'], "ingestJob", ParentType, ContextType, RequireFields<SubscriptionIngestJobArgs, 'projectId'>>;
  projectEvents?: SubscriptionResolver<ResolversTypes['Event'], "projectEvents", ParentType, ContextType, RequireFields<SubscriptionProjectEventsArgs, 'projectId'>>;
  workflowNodeState?: SubscriptionResolver<ResolversTypes['WorkflowEvent'], "workflowNodeState", ParentType, ContextType, RequireFields<SubscriptionWorkflowNodeStateArgs, 'projectId'>>;
};

export type WorkflowEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['WorkflowEvent'] = ResolversParentTypes['WorkflowEvent']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  nodeState?: Resolver<Maybe<ResolversTypes['WorkflowNodeState']>, ParentType, ContextType>;
  nodes?: Resolver<Maybe<Array<ResolversTypes['WorkflowNodeState']>>, ParentType, ContextType>;
  occurredAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  run?: Resolver<ResolversTypes['WorkflowRunSummary'], ParentType, ContextType>;
  type?: Resolver<ResolversTypes['EventType'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type WorkflowNodeStateResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['WorkflowNodeState'] = ResolversParentTypes['WorkflowNodeState']> = {
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  nodeId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  output?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  status?: Resolver<ResolversTypes['NodeStatus'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type WorkflowRunResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['WorkflowRun'] = ResolversParentTypes['WorkflowRun']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  nodeCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  nodeCounts?: Resolver<ResolversTypes['NodeStatusCounts'], ParentType, ContextType>;
  nodes?: Resolver<Array<ResolversTypes['WorkflowNodeState']>, ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['WorkflowRunStatus'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  workflowId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type WorkflowRunSummaryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['WorkflowRunSummary'] = ResolversParentTypes['WorkflowRunSummary']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  nodeCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  nodeCounts?: Resolver<ResolversTypes['NodeStatusCounts'], ParentType, ContextType>;
  projectId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['WorkflowRunStatus'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  workflowId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type Resolvers<ContextType = GraphQLContext> = {
  AgentMessage?: AgentMessageResolvers<ContextType>;
  AgentMessageDelta?: AgentMessageDeltaResolvers<ContextType>;
  AgentRun?: AgentRunResolvers<ContextType>;
  AgentRunEvent?: AgentRunEventResolvers<ContextType>;
  AgentRunSummary?: AgentRunSummaryResolvers<ContextType>;
  AgentStep?: AgentStepResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  Event?: EventResolvers<ContextType>;
  IngestJob?: IngestJobResolvers<ContextType>;
  IngestJobEvent?: IngestJobEventResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  NodeStatusCounts?: NodeStatusCountsResolvers<ContextType>;
  ProjectSnapshot?: ProjectSnapshotResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  WorkflowEvent?: WorkflowEventResolvers<ContextType>;
  WorkflowNodeState?: WorkflowNodeStateResolvers<ContextType>;
  WorkflowRun?: WorkflowRunResolvers<ContextType>;
  WorkflowRunSummary?: WorkflowRunSummaryResolvers<ContextType>;
};

