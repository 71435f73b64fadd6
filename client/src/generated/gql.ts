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
    "\n  fragment AgentRunFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    steps {\n      id\n      name\n      status\n      startedAt\n      finishedAt\n    }\n    messages {\n      id\n      role\n      content\n      createdAt\n    }\n  }\n": typeof types.AgentRunFieldsFragmentDoc,
    "\n  fragment WorkflowRunFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodes {\n      nodeId\n      status\n      output\n      error\n      updatedAt\n    }\n  }\n": typeof types.WorkflowRunFieldsFragmentDoc,
    "\n  query ProjectSnapshot($projectId: ID!) {\n    projectSnapshot(projectId: $projectId) {\n      cursor\n      ingestJobs {\n        ...IngestJobFields\n      }\n      agentRuns {\n        ...AgentRunFields\n      }\n      workflowRuns {\n        ...WorkflowRunFields\n      }\n    }\n  }\n": typeof types.ProjectSnapshotDocument,
    "\n  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {\n    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {\n      cursor\n      type\n      job {\n        ...IngestJobFields\n      }\n    }\n  }\n": typeof types.IngestJobStreamDocument,
    "\n  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {\n    agentRun(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...AgentRunFields\n      }\n    }\n  }\n": typeof types.AgentRunStreamDocument,
    "\n  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {\n    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...WorkflowRunFields\n      }\n    }\n  }\n": typeof types.WorkflowStreamDocument,
};
const documents: Documents = {
    "\n  fragment IngestJobFields on IngestJob {\n    id\n    projectId\n    source\n    status\n    progress\n    message\n    processedItems\n    totalItems\n    error\n    createdAt\n    updatedAt\n  }\n": types.IngestJobFieldsFragmentDoc,
    "\n  fragment AgentRunFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    steps {\n      id\n      name\n      status\n      startedAt\n      finishedAt\n    }\n    messages {\n      id\n      role\n      content\n      createdAt\n    }\n  }\n": types.AgentRunFieldsFragmentDoc,
    "\n  fragment WorkflowRunFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodes {\n      nodeId\n      status\n      output\n      error\n      updatedAt\n    }\n  }\n": types.WorkflowRunFieldsFragmentDoc,
    "\n  query ProjectSnapshot($projectId: ID!) {\n    projectSnapshot(projectId: $projectId) {\n      cursor\n      ingestJobs {\n        ...IngestJobFields\n      }\n      agentRuns {\n        ...AgentRunFields\n      }\n      workflowRuns {\n        ...WorkflowRunFields\n      }\n    }\n  }\n": types.ProjectSnapshotDocument,
    "\n  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {\n    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {\n      cursor\n      type\n      job {\n        ...IngestJobFields\n      }\n    }\n  }\n": types.IngestJobStreamDocument,
    "\n  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {\n    agentRun(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...AgentRunFields\n      }\n    }\n  }\n": types.AgentRunStreamDocument,
    "\n  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {\n    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...WorkflowRunFields\n      }\n    }\n  }\n": types.WorkflowStreamDocument,
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
export function graphql(source: "\n  fragment AgentRunFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    steps {\n      id\n      name\n      status\n      startedAt\n      finishedAt\n    }\n    messages {\n      id\n      role\n      content\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  fragment AgentRunFields on AgentRun {\n    id\n    projectId\n    agent\n    status\n    output\n    error\n    createdAt\n    updatedAt\n    steps {\n      id\n      name\n      status\n      startedAt\n      finishedAt\n    }\n    messages {\n      id\n      role\n      content\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment WorkflowRunFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodes {\n      nodeId\n      status\n      output\n      error\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  fragment WorkflowRunFields on WorkflowRun {\n    id\n    projectId\n    workflowId\n    status\n    createdAt\n    updatedAt\n    nodes {\n      nodeId\n      status\n      output\n      error\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProjectSnapshot($projectId: ID!) {\n    projectSnapshot(projectId: $projectId) {\n      cursor\n      ingestJobs {\n        ...IngestJobFields\n      }\n      agentRuns {\n        ...AgentRunFields\n      }\n      workflowRuns {\n        ...WorkflowRunFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query ProjectSnapshot($projectId: ID!) {\n    projectSnapshot(projectId: $projectId) {\n      cursor\n      ingestJobs {\n        ...IngestJobFields\n      }\n      agentRuns {\n        ...AgentRunFields\n      }\n      workflowRuns {\n        ...WorkflowRunFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {\n    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {\n      cursor\n      type\n      job {\n        ...IngestJobFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription IngestJobStream($projectId: ID!, $jobId: ID, $after: String) {\n    ingestJob(projectId: $projectId, jobId: $jobId, after: $after) {\n      cursor\n      type\n      job {\n        ...IngestJobFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {\n    agentRun(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...AgentRunFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription AgentRunStream($projectId: ID!, $runId: ID, $after: String) {\n    agentRun(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...AgentRunFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {\n    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...WorkflowRunFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription WorkflowStream($projectId: ID!, $runId: ID, $after: String) {\n    workflowNodeState(projectId: $projectId, runId: $runId, after: $after) {\n      cursor\n      type\n      run {\n        ...WorkflowRunFields\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;