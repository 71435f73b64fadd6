import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: './schema.graphql',
  generates: {
    // Typed documents for the operations written in client/ (TypedDocumentNode).
    './client/src/generated/': {
      documents: ['client/src/**/*.{ts,tsx}', '!client/src/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string' },
        importExtension: '.js',
      },
    },
    // Typed documents for the mutations the producer package sends.
    './producer/src/generated/': {
      documents: ['producer/src/**/*.ts', '!producer/src/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string' },
        importExtension: '.js',
      },
    },
    './src/generated/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        immutableTypes: false,
        contextType: '../context.js#GraphQLContext',
        scalars: { DateTime: 'string' },
        mappers: {
          Event: '../events/event-record.js#EventRecord',
          IngestJobEvent: '../events/event-record.js#IngestJobEventRecord',
          AgentRunEvent: '../events/event-record.js#AgentRunEventRecord',
          WorkflowEvent: '../events/event-record.js#WorkflowEventRecord',
          ProjectSnapshot: '../events/event-streams.js#ProjectSnapshotModel',
          IngestJob: '../store/records.js#IngestJobRecord',
          AgentRun: '../store/records.js#AgentRunRecord',
          AgentRunSummary: '../store/records.js#AgentRunRecord',
          AgentStep: '../store/records.js#AgentStepRecord',
          AgentMessage: '../agent/agent-service.js#AgentMessageModel',
          WorkflowRun: '../store/records.js#WorkflowRunRecord',
          WorkflowRunSummary: '../store/records.js#WorkflowRunRecord',
          WorkflowNodeState: '../store/records.js#WorkflowNodeRecord',
        },
        resolversNonOptionalTypename: { interfaceImplementingType: true },
      },
    },
  },
};

export default config;
