import { graphql } from './generated/gql.js';

/**
 * The operations the client package and the dashboard send; their types are generated.
 *
 * @remarks
 * Streams select what changed and a run's summary, never a run's collections, so an event
 * costs the same however long its run has grown. Collections come from queries, a page at
 * a time (`messages(last:)`).
 */

export const IngestJobFields = graphql(`
  fragment IngestJobFields on IngestJob {
    id
    projectId
    source
    status
    progress
    message
    processedItems
    totalItems
    error
    createdAt
    updatedAt
  }
`);

export const AgentStepFields = graphql(`
  fragment AgentStepFields on AgentStep {
    id
    name
    status
    startedAt
    finishedAt
  }
`);

export const AgentMessageFields = graphql(`
  fragment AgentMessageFields on AgentMessage {
    id
    index
    role
    content
    status
    createdAt
  }
`);

export const AgentRunSummaryFields = graphql(`
  fragment AgentRunSummaryFields on AgentRunSummary {
    id
    projectId
    agent
    status
    output
    error
    createdAt
    updatedAt
    stepCount
    messageCount
  }
`);

/** A run with its steps and its latest `$messageLimit` messages. */
export const AgentRunFields = graphql(`
  fragment AgentRunFields on AgentRun {
    id
    projectId
    agent
    status
    output
    error
    createdAt
    updatedAt
    stepCount
    messageCount
    steps {
      ...AgentStepFields
    }
    messages(last: $messageLimit) {
      ...AgentMessageFields
    }
  }
`);

export const WorkflowNodeFields = graphql(`
  fragment WorkflowNodeFields on WorkflowNodeState {
    nodeId
    status
    output
    error
    updatedAt
  }
`);

export const WorkflowRunSummaryFields = graphql(`
  fragment WorkflowRunSummaryFields on WorkflowRunSummary {
    id
    projectId
    workflowId
    status
    createdAt
    updatedAt
    nodeCount
    nodeCounts {
      pending
      running
      succeeded
      failed
      skipped
    }
  }
`);

export const WorkflowRunFields = graphql(`
  fragment WorkflowRunFields on WorkflowRun {
    id
    projectId
    workflowId
    status
    createdAt
    updatedAt
    nodeCount
    nodeCounts {
      pending
      running
      succeeded
      failed
      skipped
    }
    nodes {
      ...WorkflowNodeFields
    }
  }
`);

export const ProjectSnapshotQuery = graphql(`
  query ProjectSnapshot($projectId: ID!, $messageLimit: Int) {
    projectSnapshot(projectId: $projectId) {
      cursor
      ingestJobs {
        ...IngestJobFields
      }
      agentRuns {
        ...AgentRunFields
      }
      workflowRuns {
        ...WorkflowRunFields
      }
    }
  }
`);

/** Older messages of a run, a page at a time: pass the lowest `index` held as `before`. */
export const AgentRunMessagesQuery = graphql(`
  query AgentRunMessages($runId: ID!, $before: Int, $last: Int) {
    agentRun(id: $runId) {
      id
      messageCount
      messages(before: $before, last: $last) {
        ...AgentMessageFields
      }
    }
  }
`);

export const IngestJobStream = graphql(`
  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {
    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {
      cursor
      type
      job {
        ...IngestJobFields
      }
    }
  }
`);

export const AgentRunStream = graphql(`
  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {
    agentRun(projectId: $projectId, runId: $runId, after: $after) {
      cursor
      type
      run {
        ...AgentRunSummaryFields
      }
      step {
        ...AgentStepFields
      }
      message {
        ...AgentMessageFields
      }
      messageDelta {
        messageId
        offset
        text
      }
    }
  }
`);

export const WorkflowStream = graphql(`
  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {
    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {
      cursor
      type
      run {
        ...WorkflowRunSummaryFields
      }
      nodeState {
        ...WorkflowNodeFields
      }
      nodes {
        ...WorkflowNodeFields
      }
    }
  }
`);
