/** The operations the tests send, written the way a client would. */

const JOB_FIELDS = 'id projectId source status progress message processedItems totalItems error createdAt updatedAt';
const RUN_SUMMARY_FIELDS = 'id projectId agent status output error createdAt updatedAt stepCount messageCount';
const STEP_FIELDS = 'id name status startedAt finishedAt';
/** What a mutation answers with: the run and its steps; messages are read a page at a time. */
const CHANGED_RUN_FIELDS = `${RUN_SUMMARY_FIELDS} steps { ${STEP_FIELDS} }`;
const RUN_FIELDS = `${CHANGED_RUN_FIELDS} messages(first: 100) { id index role content status createdAt }`;
const NODE_FIELDS = 'nodeId status output error updatedAt';
const WORKFLOW_SUMMARY_FIELDS =
  'id projectId workflowId status createdAt updatedAt nodeCount nodeCounts { pending running succeeded failed skipped }';
const WORKFLOW_FIELDS = `${WORKFLOW_SUMMARY_FIELDS} nodes { ${NODE_FIELDS} }`;

export const CREATE_JOB = `mutation ($projectId: ID!, $source: String!, $totalItems: Int) {
  createIngestJob(projectId: $projectId, source: $source, totalItems: $totalItems) { ${JOB_FIELDS} }
}`;
export const UPDATE_PROGRESS = `mutation ($id: ID!, $progress: Float!, $processedItems: Int, $message: String) {
  updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processedItems, message: $message) { ${JOB_FIELDS} }
}`;
export const COMPLETE_JOB = `mutation ($id: ID!) { completeIngestJob(id: $id) { ${JOB_FIELDS} } }`;
export const FAIL_JOB = `mutation ($id: ID!, $error: String!) { failIngestJob(id: $id, error: $error) { ${JOB_FIELDS} } }`;
export const JOB = `query ($id: ID!) { ingestJob(id: $id) { ${JOB_FIELDS} } }`;
export const JOBS = `query ($projectId: ID!) { ingestJobs(projectId: $projectId) { ${JOB_FIELDS} } }`;

export const START_RUN = `mutation ($projectId: ID!, $agent: String!) { startAgentRun(projectId: $projectId, agent: $agent) { ${CHANGED_RUN_FIELDS} } }`;
export const UPDATE_STEP = `mutation ($runId: ID!, $stepId: ID!, $name: String!, $status: StepStatus!) {
  updateAgentStep(runId: $runId, stepId: $stepId, name: $name, status: $status) { ${CHANGED_RUN_FIELDS} }
}`;
export const APPEND_MESSAGE = `mutation ($runId: ID!, $role: MessageRole!, $content: String!) {
  appendAgentMessage(runId: $runId, role: $role, content: $content) { id index role content status createdAt }
}`;
export const START_MESSAGE = `mutation ($runId: ID!, $role: MessageRole!) {
  startAgentMessage(runId: $runId, role: $role) { id index role content status }
}`;
/** Text for a streaming message; the answer does not select `content`, which costs the whole text. */
export const APPEND_CONTENT = `mutation ($runId: ID!, $messageId: ID!, $text: String!) {
  appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text) { id index status }
}`;
export const FINISH_MESSAGE = `mutation ($runId: ID!, $messageId: ID!) {
  finishAgentMessage(runId: $runId, messageId: $messageId) { id index content status }
}`;
export const COMPLETE_RUN = `mutation ($runId: ID!, $output: String) { completeAgentRun(runId: $runId, output: $output) { ${CHANGED_RUN_FIELDS} } }`;
export const FAIL_RUN = `mutation ($runId: ID!, $error: String!) { failAgentRun(runId: $runId, error: $error) { ${CHANGED_RUN_FIELDS} } }`;
export const RUN = `query ($id: ID!) { agentRun(id: $id) { ${RUN_FIELDS} } }`;
export const RUNS = `query ($projectId: ID!) { agentRuns(projectId: $projectId) { ${RUN_FIELDS} } }`;

export const START_WORKFLOW = `mutation ($projectId: ID!, $workflowId: String!, $nodeIds: [ID!]!) {
  startWorkflowRun(projectId: $projectId, workflowId: $workflowId, nodeIds: $nodeIds) { ${WORKFLOW_FIELDS} }
}`;
export const UPDATE_NODE = `mutation ($runId: ID!, $nodeId: ID!, $status: NodeStatus!, $output: String, $error: String) {
  updateWorkflowNodeState(runId: $runId, nodeId: $nodeId, status: $status, output: $output, error: $error) { ${WORKFLOW_FIELDS} }
}`;
export const FINISH_WORKFLOW = `mutation ($runId: ID!, $status: WorkflowRunStatus!) {
  finishWorkflowRun(runId: $runId, status: $status) { ${WORKFLOW_FIELDS} }
}`;
export const WORKFLOW = `query ($id: ID!) { workflowRun(id: $id) { ${WORKFLOW_FIELDS} } }`;
export const WORKFLOWS = `query ($projectId: ID!) { workflowRuns(projectId: $projectId) { ${WORKFLOW_FIELDS} } }`;

export const INGEST_JOB_STREAM = `subscription ($projectId: ID!, $jobId: ID, $after: String) {
  ingestJob(projectId: $projectId, jobId: $jobId, after: $after) { cursor type projectId occurredAt job { ${JOB_FIELDS} } }
}`;
export const AGENT_RUN_STREAM = `subscription ($projectId: ID!, $runId: ID, $after: String) {
  agentRun(projectId: $projectId, runId: $runId, after: $after) {
    cursor type projectId occurredAt run { ${RUN_SUMMARY_FIELDS} } step { id name status } message { id index role content }
  }
}`;
export const WORKFLOW_STREAM = `subscription ($projectId: ID!, $runId: ID, $after: String) {
  workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {
    cursor type projectId occurredAt run { ${WORKFLOW_SUMMARY_FIELDS} } nodeState { ${NODE_FIELDS} } nodes { ${NODE_FIELDS} }
  }
}`;
export const PROJECT_STREAM = `subscription ($projectId: ID!, $types: [EventType!], $after: String) {
  projectEvents(projectId: $projectId, types: $types, after: $after) {
    __typename cursor type projectId occurredAt
    ... on IngestJobEvent { job { id status progress } }
    ... on AgentRunEvent { agentRun: run { id status } step { id status } message { id content } }
    ... on WorkflowEvent { workflowRun: run { id status } nodeState { nodeId status } }
  }
}`;

export type ProjectEvent = {
  projectEvents: {
    __typename: string;
    cursor: string;
    type: string;
    projectId: string;
    job?: { id: string; status: string; progress: number };
    agentRun?: { id: string; status: string };
    workflowRun?: { id: string; status: string };
    step?: { id: string; status: string } | null;
    message?: { id: string; content: string } | null;
    nodeState?: { nodeId: string; status: string } | null;
  };
};

/**
 * Retained events with every field of every event type, written out by hand: what a plain
 * stream message must hold. `run` is aliased per type, as the two types differ.
 */
export const EVENTS_WITH_EVERY_FIELD = `query ($projectId: ID!) {
  events(projectId: $projectId, limit: 40) {
    cursor type projectId occurredAt
    ... on IngestJobEvent { job { ${JOB_FIELDS} } }
    ... on AgentRunEvent {
      agentRun: run { ${RUN_SUMMARY_FIELDS} } step { ${STEP_FIELDS} } message { id index role content status createdAt }
      messageDelta { messageId offset text }
    }
    ... on WorkflowEvent { workflowRun: run { ${WORKFLOW_SUMMARY_FIELDS} } nodeState { ${NODE_FIELDS} } nodes { ${NODE_FIELDS} } }
  }
}`;

/** Position part of a cursor, for asserting order in tests (clients treat cursors as opaque). */
export function cursorSeq(cursor: string): number {
  return Number(cursor.split(':')[1]);
}
