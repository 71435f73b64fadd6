import { readFileSync } from 'node:fs';
import { createSchema } from 'graphql-yoga';
import { agentResolvers } from './agent/agent-resolvers.js';
import type { GraphQLContext } from './context.js';
import { checkIdArguments } from './id-arguments.js';
import { eventResolvers } from './events/event-resolvers.js';
import { ingestResolvers } from './ingest/ingest-resolvers.js';
import { DateTimeScalar } from './scalars.js';
import { workflowResolvers } from './workflow/workflow-resolvers.js';

// The package root's schema.graphql, the one codegen reads. This module runs from src/ (tsx) or
// from dist/ (the build, whose rootDir is src), both directly below the root, so one relative
// path finds the same file from either, and no copy can drift from it.
const typeDefs = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');

/** The executable schema: `schema.graphql` with each domain's resolvers, every ID argument checked. */
export function createEventsSchema() {
  return checkIdArguments(
    createSchema<GraphQLContext>({
      typeDefs,
      resolvers: [{ DateTime: DateTimeScalar }, eventResolvers, ingestResolvers, agentResolvers, workflowResolvers],
    }),
  );
}
