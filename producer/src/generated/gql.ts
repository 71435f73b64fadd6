/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment IngestJobFields on IngestJob {\n    id\n    projectId\n    source\n    status\n    progress\n    message\n    processedItems\n    totalItems\n    error\n    createdAt\n    updatedAt\n  }\n": typeof types.IngestJobFieldsFragmentDoc,
    "\n  fragment AgentRunResultFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n  }\n": typeof types.AgentRunResultFieldsFragmentDoc,
    "\n  fragment AgentMessageFields on AgentMessage {\n    id\n    index\n    role\n    content\n    status\n    createdAt\n  }\n": typeof types.AgentMessageFieldsFragmentDoc,
    "\n  fragment WorkflowRunResultFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n  }\n": typeof types.WorkflowRunResultFieldsFragmentDoc,
    "\n  mutation CreateIngestJob($projectId: ID!, $source: String!, $totalItems: Int) {\n    createIngestJob(projectId: $projectId, source: $source, totalItems: $totalItems) {\n      ...IngestJobFields\n    }\n  }\n": typeof types.CreateIngestJobDocument,
    "\n  mutation UpdateIngestJobProgress($id: ID!, $progress: Float!, $processedItems: Int, $message: String) {\n    updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processedItems, message: $message) {\n      ...IngestJobFields\n    }\n  }\n": typeof types.UpdateIngestJobProgressDocument,
    "\n  mutation CompleteIngestJob($id: ID!) {\n    completeIngestJob(id: $id) {\n      ...IngestJobFields\n    }\n  }\n": typeof types.CompleteIngestJobDocument,
    "\n  mutation FailIngestJob($id: ID!, $error: String!) {\n    failIngestJob(id: $id, error: $error) {\n      ...IngestJobFields\n    }\n  }\n": typeof types.FailIngestJobDocument,
    "\n  mutation StartAgentRun($projectId: ID!, $agent: String!) {\n    startAgentRun(projectId: $projectId, agent: $agent) {\n      ...AgentRunResultFields\n    }\n  }\n": typeof types.StartAgentRunDocument,
    "\n  mutation UpdateAgentStep($runId: ID!, $stepId: ID!, $name: String!, $status: StepStatus!) {\n    updateAgentStep(runId: $runId, stepId: $stepId, name: $name, status: $status) {\n      ...AgentRunResultFields\n    }\n  }\n": typeof types.UpdateAgentStepDocument,
    "\n  mutation AppendAgentMessage($runId: ID!, $role: MessageRole!, $content: String!) {\n    appendAgentMessage(runId: $runId, role: $role, content: $content) {\n      ...AgentMessageFields\n    }\n  }\n": typeof types.AppendAgentMessageDocument,
    "\n  mutation StartAgentMessage($runId: ID!, $role: MessageRole!) {\n    startAgentMessage(runId: $runId, role: $role) {\n      ...AgentMessageFields\n    }\n  }\n": typeof types.StartAgentMessageDocument,
    "\n  mutation AppendAgentMessageContent($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {\n    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {\n      ...AgentMessageFields\n    }\n  }\n": typeof types.AppendAgentMessageContentDocument,
    "\n  mutation FinishAgentMessage($runId: ID!, $messageId: ID!) {\n    finishAgentMessage(runId: $runId, messageId: $messageId) {\n      ...AgentMessageFields\n    }\n  }\n": typeof types.FinishAgentMessageDocument,
    "\n  mutation CompleteAgentRun($runId: ID!, $output: String) {\n    completeAgentRun(runId: $runId, output: $output) {\n      ...AgentRunResultFields\n    }\n  }\n": typeof types.CompleteAgentRunDocument,
    "\n  mutation FailAgentRun($runId: ID!, $error: String!) {\n    failAgentRun(runId: $runId, error: $error) {\n      ...AgentRunResultFields\n    }\n  }\n": typeof types.FailAgentRunDocument,
    "\n  mutation StartWorkflowRun($projectId: ID!, $workflowId: String!, $nodeIds: [ID!]!) {\n    startWorkflowRun(projectId: $projectId, workflowId: $workflowId, nodeIds: $nodeIds) {\n      ...WorkflowRunResultFields\n    }\n  }\n": typeof types.StartWorkflowRunDocument,
    "\n  mutation UpdateWorkflowNodeState($runId: ID!, $nodeId: ID!, $status: NodeStatus!, $output: String, $error: String) {\n    updateWorkflowNodeState(runId: $runId, nodeId: $nodeId, status: $status, output: $output, error: $error) {\n      ...WorkflowRunResultFields\n    }\n  }\n": typeof types.UpdateWorkflowNodeStateDocument,
    "\n  mutation FinishWorkflowRun($runId: ID!, $status: WorkflowRunStatus!) {\n    finishWorkflowRun(runId: $runId, status: $status) {\n      ...WorkflowRunResultFields\n    }\n  }\n": typeof types.FinishWorkflowRunDocument,
    "\n  mutation AppendStreamedPiece($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {\n    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {\n      id\n    }\n  }\n": typeof types.AppendStreamedPieceDocument,
};
const documents: Documents = {
    "\n  fragment IngestJobFields on IngestJob {\n    id\n    projectId\n    source\n    status\n    progress\n    message\n    processedItems\n    totalItems\n    error\n    createdAt\n    updatedAt\n  }\n": types.IngestJobFieldsFragmentDoc,
    "\n  fragment AgentRunResultFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n  }\n": types.AgentRunResultFieldsFragmentDoc,
    "\n  fragment AgentMessageFields on AgentMessage {\n    id\n    index\n    role\n    content\n    status\n    createdAt\n  }\n": types.AgentMessageFieldsFragmentDoc,
    "\n  fragment WorkflowRunResultFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n  }\n": types.WorkflowRunResultFieldsFragmentDoc,
    "\n  mutation CreateIngestJob($projectId: ID!, $source: String!, $totalItems: Int) {\n    createIngestJob(projectId: $projectId, source: $source, totalItems: $totalItems) {\n      ...IngestJobFields\n    }\n  }\n": types.CreateIngestJobDocument,
    "\n  mutation UpdateIngestJobProgress($id: ID!, $progress: Float!, $processedItems: Int, $message: String) {\n    updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processedItems, message: $message) {\n      ...IngestJobFields\n    }\n  }\n": types.UpdateIngestJobProgressDocument,
    "\n  mutation CompleteIngestJob($id: ID!) {\n    completeIngestJob(id: $id) {\n      ...IngestJobFields\n    }\n  }\n": types.CompleteIngestJobDocument,
    "\n  mutation FailIngestJob($id: ID!, $error: String!) {\n    failIngestJob(id: $id, error: $error) {\n      ...IngestJobFields\n    }\n  }\n": types.FailIngestJobDocument,
    "\n  mutation StartAgentRun($projectId: ID!, $agent: String!) {\n    startAgentRun(projectId: $projectId, agent: $agent) {\n      ...AgentRunResultFields\n    }\n  }\n": types.StartAgentRunDocument,
    "\n  mutation UpdateAgentStep($runId: ID!, $stepId: ID!, $name: String!, $status: StepStatus!) {\n    updateAgentStep(runId: $runId, stepId: $stepId, name: $name, status: $status) {\n      ...AgentRunResultFields\n    }\n  }\n": types.UpdateAgentStepDocument,
    "\n  mutation AppendAgentMessage($runId: ID!, $role: MessageRole!, $content: String!) {\n    appendAgentMessage(runId: $runId, role: $role, content: $content) {\n      ...AgentMessageFields\n    }\n  }\n": types.AppendAgentMessageDocument,
    "\n  mutation StartAgentMessage($runId: ID!, $role: MessageRole!) {\n    startAgentMessage(runId: $runId, role: $role) {\n      ...AgentMessageFields\n    }\n  }\n": types.StartAgentMessageDocument,
    "\n  mutation AppendAgentMessageContent($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {\n    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {\n      ...AgentMessageFields\n    }\n  }\n": types.AppendAgentMessageContentDocument,
    "\n  mutation FinishAgentMessage($runId: ID!, $messageId: ID!) {\n    finishAgentMessage(runId: $runId, messageId: $messageId) {\n      ...AgentMessageFields\n    }\n  }\n": types.FinishAgentMessageDocument,
    "\n  mutation CompleteAgentRun($runId: ID!, $output: String) {\n    completeAgentRun(runId: $runId, output: $output) {\n      ...AgentRunResultFields\n    }\n  }\n": types.CompleteAgentRunDocument,
    "\n  mutation FailAgentRun($runId: ID!, $error: String!) {\n    failAgentRun(runId: $runId, error: $error) {\n      ...AgentRunResultFields\n    }\n  }\n": types.FailAgentRunDocument,
    "\n  mutation StartWorkflowRun($projectId: ID!, $workflowId: String!, $nodeIds: [ID!]!) {\n    startWorkflowRun(projectId: $projectId, workflowId: $workflowId, nodeIds: $nodeIds) {\n      ...WorkflowRunResultFields\n    }\n  }\n": types.StartWorkflowRunDocument,
    "\n  mutation UpdateWorkflowNodeState($runId: ID!, $nodeId: ID!, $status: NodeStatus!, $output: String, $error: String) {\n    updateWorkflowNodeState(runId: $runId, nodeId: $nodeId, status: $status, output: $output, error: $error) {\n      ...WorkflowRunResultFields\n    }\n  }\n": types.UpdateWorkflowNodeStateDocument,
    "\n  mutation FinishWorkflowRun($runId: ID!, $status: WorkflowRunStatus!) {\n    finishWorkflowRun(runId: $runId, status: $status) {\n      ...WorkflowRunResultFields\n    }\n  }\n": types.FinishWorkflowRunDocument,
    "\n  mutation AppendStreamedPiece($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {\n    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {\n      id\n    }\n  }\n": types.AppendStreamedPieceDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment IngestJobFields on IngestJob {\n    id\n    projectId\n    source\n    status\n    progress\n    message\n    processedItems\n    totalItems\n    error\n    createdAt\n    updatedAt\n  }\n"): (typeof documents)["\n  fragment IngestJobFields on IngestJob {\n    id\n    projectId\n    source\n    status\n    progress\n    message\n    processedItems\n    totalItems\n    error\n    createdAt\n    updatedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AgentRunResultFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n  }\n"): (typeof documents)["\n  fragment AgentRunResultFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AgentMessageFields on AgentMessage {\n    id\n    index\n    role\n    content\n    status\n    createdAt\n  }\n"): (typeof documents)["\n  fragment AgentMessageFields on AgentMessage {\n    id\n    index\n    role\n    content\n    status\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WorkflowRunResultFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n  }\n"): (typeof documents)["\n  fragment WorkflowRunResultFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateIngestJob($projectId: ID!, $source: String!, $totalItems: Int) {\n    createIngestJob(projectId: $projectId, source: $source, totalItems: $totalItems) {\n      ...IngestJobFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateIngestJob($projectId: ID!, $source: String!, $totalItems: Int) {\n    createIngestJob(projectId: $projectId, source: $source, totalItems: $totalItems) {\n      ...IngestJobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateIngestJobProgress($id: ID!, $progress: Float!, $processedItems: Int, $message: String) {\n    updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processedItems, message: $message) {\n      ...IngestJobFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateIngestJobProgress($id: ID!, $progress: Float!, $processedItems: Int, $message: String) {\n    updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processedItems, message: $message) {\n      ...IngestJobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CompleteIngestJob($id: ID!) {\n    completeIngestJob(id: $id) {\n      ...IngestJobFields\n    }\n  }\n"): (typeof documents)["\n  mutation CompleteIngestJob($id: ID!) {\n    completeIngestJob(id: $id) {\n      ...IngestJobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FailIngestJob($id: ID!, $error: String!) {\n    failIngestJob(id: $id, error: $error) {\n      ...IngestJobFields\n    }\n  }\n"): (typeof documents)["\n  mutation FailIngestJob($id: ID!, $error: String!) {\n    failIngestJob(id: $id, error: $error) {\n      ...IngestJobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartAgentRun($projectId: ID!, $agent: String!) {\n    startAgentRun(projectId: $projectId, agent: $agent) {\n      ...AgentRunResultFields\n    }\n  }\n"): (typeof documents)["\n  mutation StartAgentRun($projectId: ID!, $agent: String!) {\n    startAgentRun(projectId: $projectId, agent: $agent) {\n      ...AgentRunResultFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateAgentStep($runId: ID!, $stepId: ID!, $name: String!, $status: StepStatus!) {\n    updateAgentStep(runId: $runId, stepId: $stepId, name: $name, status: $status) {\n      ...AgentRunResultFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateAgentStep($runId: ID!, $stepId: ID!, $name: String!, $status: StepStatus!) {\n    updateAgentStep(runId: $runId, stepId: $stepId, name: $name, status: $status) {\n      ...AgentRunResultFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AppendAgentMessage($runId: ID!, $role: MessageRole!, $content: String!) {\n    appendAgentMessage(runId: $runId, role: $role, content: $content) {\n      ...AgentMessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation AppendAgentMessage($runId: ID!, $role: MessageRole!, $content: String!) {\n    appendAgentMessage(runId: $runId, role: $role, content: $content) {\n      ...AgentMessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartAgentMessage($runId: ID!, $role: MessageRole!) {\n    startAgentMessage(runId: $runId, role: $role) {\n      ...AgentMessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation StartAgentMessage($runId: ID!, $role: MessageRole!) {\n    startAgentMessage(runId: $runId, role: $role) {\n      ...AgentMessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AppendAgentMessageContent($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {\n    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {\n      ...AgentMessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation AppendAgentMessageContent($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {\n    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {\n      ...AgentMessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FinishAgentMessage($runId: ID!, $messageId: ID!) {\n    finishAgentMessage(runId: $runId, messageId: $messageId) {\n      ...AgentMessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation FinishAgentMessage($runId: ID!, $messageId: ID!) {\n    finishAgentMessage(runId: $runId, messageId: $messageId) {\n      ...AgentMessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CompleteAgentRun($runId: ID!, $output: String) {\n    completeAgentRun(runId: $runId, output: $output) {\n      ...AgentRunResultFields\n    }\n  }\n"): (typeof documents)["\n  mutation CompleteAgentRun($runId: ID!, $output: String) {\n    completeAgentRun(runId: $runId, output: $output) {\n      ...AgentRunResultFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FailAgentRun($runId: ID!, $error: String!) {\n    failAgentRun(runId: $runId, error: $error) {\n      ...AgentRunResultFields\n    }\n  }\n"): (typeof documents)["\n  mutation FailAgentRun($runId: ID!, $error: String!) {\n    failAgentRun(runId: $runId, error: $error) {\n      ...AgentRunResultFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartWorkflowRun($projectId: ID!, $workflowId: String!, $nodeIds: [ID!]!) {\n    startWorkflowRun(projectId: $projectId, workflowId: $workflowId, nodeIds: $nodeIds) {\n      ...WorkflowRunResultFields\n    }\n  }\n"): (typeof documents)["\n  mutation StartWorkflowRun($projectId: ID!, $workflowId: String!, $nodeIds: [ID!]!) {\n    startWorkflowRun(projectId: $projectId, workflowId: $workflowId, nodeIds: $nodeIds) {\n      ...WorkflowRunResultFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateWorkflowNodeState($runId: ID!, $nodeId: ID!, $status: NodeStatus!, $output: String, $error: String) {\n    updateWorkflowNodeState(runId: $runId, nodeId: $nodeId, status: $status, output: $output, error: $error) {\n      ...WorkflowRunResultFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateWorkflowNodeState($runId: ID!, $nodeId: ID!, $status: NodeStatus!, $output: String, $error: String) {\n    updateWorkflowNodeState(runId: $runId, nodeId: $nodeId, status: $status, output: $output, error: $error) {\n      ...WorkflowRunResultFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation FinishWorkflowRun($runId: ID!, $status: WorkflowRunStatus!) {\n    finishWorkflowRun(runId: $runId, status: $status) {\n      ...WorkflowRunResultFields\n    }\n  }\n"): (typeof documents)["\n  mutation FinishWorkflowRun($runId: ID!, $status: WorkflowRunStatus!) {\n    finishWorkflowRun(runId: $runId, status: $status) {\n      ...WorkflowRunResultFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AppendStreamedPiece($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {\n    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation AppendStreamedPiece($runId: ID!, $messageId: ID!, $text: String!, $offset: Int) {\n    appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text, offset: $offset) {\n      id\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;