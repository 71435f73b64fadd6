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
    "\n  fragment AgentStepFields on AgentStep {\n    id\n    name\n    status\n    startedAt\n    finishedAt\n  }\n": typeof types.AgentStepFieldsFragmentDoc,
    "\n  fragment AgentMessageFields on AgentMessage {\n    id\n    index\n    role\n    content\n    status\n    createdAt\n  }\n": typeof types.AgentMessageFieldsFragmentDoc,
    "\n  fragment AgentRunSummaryFields on AgentRunSummary {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n  }\n": typeof types.AgentRunSummaryFieldsFragmentDoc,
    "\n  fragment AgentRunFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n    steps {\n      ...AgentStepFields\n    }\n    messages(last: $messageLimit) {\n      ...AgentMessageFields\n    }\n  }\n": typeof types.AgentRunFieldsFragmentDoc,
    "\n  fragment WorkflowNodeFields on WorkflowNodeState {\n    nodeId\n    status\n    output\n    error\n    updatedAt\n  }\n": typeof types.WorkflowNodeFieldsFragmentDoc,
    "\n  fragment WorkflowRunSummaryFields on WorkflowRunSummary {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n  }\n": typeof types.WorkflowRunSummaryFieldsFragmentDoc,
    "\n  fragment WorkflowRunFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n    nodes {\n      ...WorkflowNodeFields\n    }\n  }\n": typeof types.WorkflowRunFieldsFragmentDoc,
    "\n  query ProjectSnapshot($projectId: ID!, $messageLimit: Int) {\n    projectSnapshot(projectId: $projectId) {\n      cursor\n      ingestJobs {\n        ...IngestJobFields\n      }\n      agentRuns {\n        ...AgentRunFields\n      }\n      workflowRuns {\n        ...WorkflowRunFields\n      }\n    }\n  }\n": typeof types.ProjectSnapshotDocument,
    "\n  query AgentRunMessages($runId: ID!, $before: Int, $last: Int) {\n    agentRun(id: $runId) {\n      id\n      messageCount\n      messages(before: $before, last: $last) {\n        ...AgentMessageFields\n      }\n    }\n  }\n": typeof types.AgentRunMessagesDocument,
    "\n  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {\n    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {\n      cursor\n      type\n      job {\n        ...IngestJobFields\n      }\n    }\n  }\n": typeof types.IngestJobStreamDocument,
    "\n  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {\n    agentRun(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...AgentRunSummaryFields\n      }\n      step {\n        ...AgentStepFields\n      }\n      message {\n        ...AgentMessageFields\n      }\n      messageDelta {\n        messageId\n        offset\n        text\n      }\n    }\n  }\n": typeof types.AgentRunStreamDocument,
    "\n  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {\n    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...WorkflowRunSummaryFields\n      }\n      nodeState {\n        ...WorkflowNodeFields\n      }\n      nodes {\n        ...WorkflowNodeFields\n      }\n    }\n  }\n": typeof types.WorkflowStreamDocument,
};
const documents: Documents = {
    "\n  fragment IngestJobFields on IngestJob {\n    id\n    projectId\n    source\n    status\n    progress\n    message\n    processedItems\n    totalItems\n    error\n    createdAt\n    updatedAt\n  }\n": types.IngestJobFieldsFragmentDoc,
    "\n  fragment AgentStepFields on AgentStep {\n    id\n    name\n    status\n    startedAt\n    finishedAt\n  }\n": types.AgentStepFieldsFragmentDoc,
    "\n  fragment AgentMessageFields on AgentMessage {\n    id\n    index\n    role\n    content\n    status\n    createdAt\n  }\n": types.AgentMessageFieldsFragmentDoc,
    "\n  fragment AgentRunSummaryFields on AgentRunSummary {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n  }\n": types.AgentRunSummaryFieldsFragmentDoc,
    "\n  fragment AgentRunFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n    steps {\n      ...AgentStepFields\n    }\n    messages(last: $messageLimit) {\n      ...AgentMessageFields\n    }\n  }\n": types.AgentRunFieldsFragmentDoc,
    "\n  fragment WorkflowNodeFields on WorkflowNodeState {\n    nodeId\n    status\n    output\n    error\n    updatedAt\n  }\n": types.WorkflowNodeFieldsFragmentDoc,
    "\n  fragment WorkflowRunSummaryFields on WorkflowRunSummary {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n  }\n": types.WorkflowRunSummaryFieldsFragmentDoc,
    "\n  fragment WorkflowRunFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n    nodes {\n      ...WorkflowNodeFields\n    }\n  }\n": types.WorkflowRunFieldsFragmentDoc,
    "\n  query ProjectSnapshot($projectId: ID!, $messageLimit: Int) {\n    projectSnapshot(projectId: $projectId) {\n      cursor\n      ingestJobs {\n        ...IngestJobFields\n      }\n      agentRuns {\n        ...AgentRunFields\n      }\n      workflowRuns {\n        ...WorkflowRunFields\n      }\n    }\n  }\n": types.ProjectSnapshotDocument,
    "\n  query AgentRunMessages($runId: ID!, $before: Int, $last: Int) {\n    agentRun(id: $runId) {\n      id\n      messageCount\n      messages(before: $before, last: $last) {\n        ...AgentMessageFields\n      }\n    }\n  }\n": types.AgentRunMessagesDocument,
    "\n  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {\n    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {\n      cursor\n      type\n      job {\n        ...IngestJobFields\n      }\n    }\n  }\n": types.IngestJobStreamDocument,
    "\n  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {\n    agentRun(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...AgentRunSummaryFields\n      }\n      step {\n        ...AgentStepFields\n      }\n      message {\n        ...AgentMessageFields\n      }\n      messageDelta {\n        messageId\n        offset\n        text\n      }\n    }\n  }\n": types.AgentRunStreamDocument,
    "\n  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {\n    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...WorkflowRunSummaryFields\n      }\n      nodeState {\n        ...WorkflowNodeFields\n      }\n      nodes {\n        ...WorkflowNodeFields\n      }\n    }\n  }\n": types.WorkflowStreamDocument,
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
export function graphql(source: "\n  fragment AgentStepFields on AgentStep {\n    id\n    name\n    status\n    startedAt\n    finishedAt\n  }\n"): (typeof documents)["\n  fragment AgentStepFields on AgentStep {\n    id\n    name\n    status\n    startedAt\n    finishedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AgentMessageFields on AgentMessage {\n    id\n    index\n    role\n    content\n    status\n    createdAt\n  }\n"): (typeof documents)["\n  fragment AgentMessageFields on AgentMessage {\n    id\n    index\n    role\n    content\n    status\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AgentRunSummaryFields on AgentRunSummary {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n  }\n"): (typeof documents)["\n  fragment AgentRunSummaryFields on AgentRunSummary {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AgentRunFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n    steps {\n      ...AgentStepFields\n    }\n    messages(last: $messageLimit) {\n      ...AgentMessageFields\n    }\n  }\n"): (typeof documents)["\n  fragment AgentRunFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    stepCount\n    messageCount\n    steps {\n      ...AgentStepFields\n    }\n    messages(last: $messageLimit) {\n      ...AgentMessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WorkflowNodeFields on WorkflowNodeState {\n    nodeId\n    status\n    output\n    error\n    updatedAt\n  }\n"): (typeof documents)["\n  fragment WorkflowNodeFields on WorkflowNodeState {\n    nodeId\n    status\n    output\n    error\n    updatedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WorkflowRunSummaryFields on WorkflowRunSummary {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n  }\n"): (typeof documents)["\n  fragment WorkflowRunSummaryFields on WorkflowRunSummary {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WorkflowRunFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n    nodes {\n      ...WorkflowNodeFields\n    }\n  }\n"): (typeof documents)["\n  fragment WorkflowRunFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodeCount\n    nodeCounts {\n      pending\n      running\n      succeeded\n      failed\n      skipped\n    }\n    nodes {\n      ...WorkflowNodeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProjectSnapshot($projectId: ID!, $messageLimit: Int) {\n    projectSnapshot(projectId: $projectId) {\n      cursor\n      ingestJobs {\n        ...IngestJobFields\n      }\n      agentRuns {\n        ...AgentRunFields\n      }\n      workflowRuns {\n        ...WorkflowRunFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query ProjectSnapshot($projectId: ID!, $messageLimit: Int) {\n    projectSnapshot(projectId: $projectId) {\n      cursor\n      ingestJobs {\n        ...IngestJobFields\n      }\n      agentRuns {\n        ...AgentRunFields\n      }\n      workflowRuns {\n        ...WorkflowRunFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AgentRunMessages($runId: ID!, $before: Int, $last: Int) {\n    agentRun(id: $runId) {\n      id\n      messageCount\n      messages(before: $before, last: $last) {\n        ...AgentMessageFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query AgentRunMessages($runId: ID!, $before: Int, $last: Int) {\n    agentRun(id: $runId) {\n      id\n      messageCount\n      messages(before: $before, last: $last) {\n        ...AgentMessageFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {\n    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {\n      cursor\n      type\n      job {\n        ...IngestJobFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {\n    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {\n      cursor\n      type\n      job {\n        ...IngestJobFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {\n    agentRun(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...AgentRunSummaryFields\n      }\n      step {\n        ...AgentStepFields\n      }\n      message {\n        ...AgentMessageFields\n      }\n      messageDelta {\n        messageId\n        offset\n        text\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {\n    agentRun(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...AgentRunSummaryFields\n      }\n      step {\n        ...AgentStepFields\n      }\n      message {\n        ...AgentMessageFields\n      }\n      messageDelta {\n        messageId\n        offset\n        text\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {\n    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...WorkflowRunSummaryFields\n      }\n      nodeState {\n        ...WorkflowNodeFields\n      }\n      nodes {\n        ...WorkflowNodeFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {\n    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...WorkflowRunSummaryFields\n      }\n      nodeState {\n        ...WorkflowNodeFields\n      }\n      nodes {\n        ...WorkflowNodeFields\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;