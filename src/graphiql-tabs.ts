/**
 * What GraphiQL opens with: a subscription that shows every kind of event, streamed text
 * included, and a tab of mutations that make each kind happen. The README's quick start uses
 * the same subscription.
 */

export const GRAPHIQL_TITLE = 'Real-time events API';

export const EVERY_EVENT_SUBSCRIPTION = `# Every event of project "demo" as it happens. Press the run button (Ctrl+Enter), then
# make something happen: \`npm run simulate\` in a terminal, or the mutations in the next tab.
subscription EveryEvent {
  projectEvents(projectId: "demo") {
    type
    cursor
    ... on IngestJobEvent { job { id source status progress message } }
    ... on AgentRunEvent {
      agentRun: run { id agent status messageCount }
      step { id name status }
      message { id index role status content }
      # AGENT_MESSAGE_DELTA, the most frequent event: text added to a streaming message.
      messageDelta { messageId offset text }
    }
    ... on WorkflowEvent {
      workflowRun: run { id workflowId status }
      nodeState { nodeId status }
      nodes { nodeId status }
    }
  }
}
`;

export const MAKE_EVENTS_MUTATIONS = `# Run these one at a time (pick the operation with the run button's menu) while the
# subscription in the first tab runs. Each returns the id the next one needs: paste it into
# the variables below.
mutation CreateJob {
  createIngestJob(projectId: "demo", source: "s3://raw/orders.csv", totalItems: 100) { id status }
}

mutation ReportProgress($jobId: ID!) {
  updateIngestJobProgress(id: $jobId, progress: 0.5, processedItems: 50) { id status progress }
}

mutation StartRun {
  startAgentRun(projectId: "demo", agent: "planner") { id status }
}

mutation StartStreamedMessage($runId: ID!) {
  startAgentMessage(runId: $runId, role: ASSISTANT) { id status }
}

mutation StreamText($runId: ID!, $messageId: ID!) {
  appendAgentMessageContent(runId: $runId, messageId: $messageId, text: "Hello, ") { id content }
}

mutation FinishMessage($runId: ID!, $messageId: ID!) {
  finishAgentMessage(runId: $runId, messageId: $messageId) { id status content }
}

mutation StartWorkflow {
  startWorkflowRun(projectId: "demo", workflowId: "etl", nodeIds: ["extract", "load"]) { id status }
}
`;

const MAKE_EVENTS_VARIABLES = `{
  "jobId": "paste a job id",
  "runId": "paste a run id",
  "messageId": "paste a message id"
}`;

export const GRAPHIQL_TABS = [
  { query: EVERY_EVENT_SUBSCRIPTION },
  { query: MAKE_EVENTS_MUTATIONS, variables: MAKE_EVENTS_VARIABLES },
];
