import { graphql } from './generated/gql.js';

/**
 * One document per mutation of the API; their types are generated.
 *
 * @remarks
 * Runs and workflow runs come back as their summary (no steps, messages or nodes): a
 * producer that reports a step should not download the run's whole history with every
 * answer. Read collections with queries when you need them.
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

export const AgentRunResultFields = graphql(`
  fragment AgentRunResultFields on AgentRun {
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

export const WorkflowRunResultFields = graphql(`
  fragment WorkflowRunResultFields on WorkflowRun {
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

export const CreateIngestJob = graphql(`
  mutation CreateIngestJob($projectId: ID!, $source: String!, $totalItems: Int) {
    createIngestJob(projectId: $projectId, source: $source, totalItems: $totalItems) {
      ...IngestJobFields
    }
  }
`);

export const UpdateIngestJobProgress = graphql(`
  mutation UpdateIngestJobProgress($id: ID!, $progress: Float!, $processedItems: Int, $message: String) {
    updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processedItems, message: $message) {
      ...IngestJobFields
    }
  }
`);

export const CompleteIngestJob = graphql(`
  mutation CompleteIngestJob($id: ID!) {
    completeIngestJob(id: $id) {
      ...IngestJobFields
    }
  }
`);

export const FailIngestJob = graphql(`
  mutation FailIngestJob($id: ID!, $error: String!) {
    failIngestJob(id: $id, error: $error) {
      ...IngestJobFields
    }
  }
`);

export const StartAgentRun = graphql(`
  mutation StartAgentRun($projectId: ID!, $agent: String!) {
    startAgentRun(projectId: $projectId, agent: $agent) {
      ...AgentRunResultFields
    }
  }
`);

export const UpdateAgentStep = graphql(`
  mutation UpdateAgentStep($runId: ID!, $stepId: ID!, $name: String!, $status: StepStatus!) {
    updateAgentStep(runId: $runId, stepId: $stepId, name: $name, status: $status) {
      ...AgentRunResultFields
    }
  }
`);

export const AppendAgentMessage = graphql(`
  mutation AppendAgentMessage($runId: ID!, $role: MessageRole!, $content: String!) {
    appendAgentMessage(runId: $runId, role: $role, content: $content) {
      ...AgentMessageFields
    }
  }
`);

export const StartAgentMessage = graphql(`
  mutation StartAgentMessage($runId: ID!, $role: MessageRole!) {
    startAgentMessage(runId: $runId, role: $role) {
      ...AgentMessageFields
    }
  }
`);

export const AppendAgentMessageContent = graphql(`
  mutation AppendAgentMessageContent($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {
    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {
      ...AgentMessageFields
    }
  }
`);

export const FinishAgentMessage = graphql(`
  mutation FinishAgentMessage($runId: ID!, $messageId: ID!) {
    finishAgentMessage(runId: $runId, messageId: $messageId) {
      ...AgentMessageFields
    }
  }
`);

export const CompleteAgentRun = graphql(`
  mutation CompleteAgentRun($runId: ID!, $output: String) {
    completeAgentRun(runId: $runId, output: $output) {
      ...AgentRunResultFields
    }
  }
`);

export const FailAgentRun = graphql(`
  mutation FailAgentRun($runId: ID!, $error: String!) {
    failAgentRun(runId: $runId, error: $error) {
      ...AgentRunResultFields
    }
  }
`);

export const StartWorkflowRun = graphql(`
  mutation StartWorkflowRun($projectId: ID!, $workflowId: String!, $nodeIds: [ID!]!) {
    startWorkflowRun(projectId: $projectId, workflowId: $workflowId, nodeIds: $nodeIds) {
      ...WorkflowRunResultFields
    }
  }
`);

export const UpdateWorkflowNodeState = graphql(`
  mutation UpdateWorkflowNodeState($runId: ID!, $nodeId: ID!, $status: NodeStatus!, $output: String, $error: String) {
    updateWorkflowNodeState(runId: $runId, nodeId: $nodeId, status: $status, output: $output, error: $error) {
      ...WorkflowRunResultFields
    }
  }
`);

export const FinishWorkflowRun = graphql(`
  mutation FinishWorkflowRun($runId: ID!, $status: WorkflowRunStatus!) {
    finishWorkflowRun(runId: $runId, status: $status) {
      ...WorkflowRunResultFields
    }
  }
`);

/**
 * A streamed piece as a message writer sends it: the answer is only the acknowledgement,
 * not the message's whole content so far, which grows with every piece.
 */
export const AppendStreamedPiece = graphql(`
  mutation AppendStreamedPiece($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {
    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {
      id
    }
  }
`);

/** Every mutation of the API by its field name: the producer gets one method for each. */
export const MUTATIONS = {
  createIngestJob: CreateIngestJob,
  updateIngestJobProgress: UpdateIngestJobProgress,
  completeIngestJob: CompleteIngestJob,
  failIngestJob: FailIngestJob,
  startAgentRun: StartAgentRun,
  updateAgentStep: UpdateAgentStep,
  appendAgentMessage: AppendAgentMessage,
  startAgentMessage: StartAgentMessage,
  appendAgentMessageContent: AppendAgentMessageContent,
  finishAgentMessage: FinishAgentMessage,
  completeAgentRun: CompleteAgentRun,
  failAgentRun: FailAgentRun,
  startWorkflowRun: StartWorkflowRun,
  updateWorkflowNodeState: UpdateWorkflowNodeState,
  finishWorkflowRun: FinishWorkflowRun,
} as const;
