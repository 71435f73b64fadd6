import { graphql } from './generated/gql.js';

/** The operations the client package and the dashboard send; their types are generated. */

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
    steps {
      id
      name
      status
      startedAt
      finishedAt
    }
    messages {
      id
      role
      content
      createdAt
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
    nodes {
      nodeId
      status
      output
      error
      updatedAt
    }
  }
`);

export const ProjectSnapshotQuery = graphql(`
  query ProjectSnapshot($projectId: ID!) {
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
        ...AgentRunFields
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
        ...WorkflowRunFields
      }
    }
  }
`);
