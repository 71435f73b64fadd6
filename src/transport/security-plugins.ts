import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, NoSchemaIntrospectionCustomRule, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Limits } from '../config.js';
import type { GraphQLContext } from '../context.js';
import type { RateLimiter } from './limiters.js';

/**
 * Document limits (depth, aliases, tokens, directives, cost) and, in production, no
 * introspection and no field suggestions. They run in parse and validate, which the HTTP,
 * SSE and WebSocket paths all go through.
 */
export function documentLimitPlugins(limits: Limits, production: boolean): Plugin[] {
  const armor = new EnvelopArmor({
    maxDepth: { n: limits.maxDepth },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    maxDirectives: { n: limits.maxDirectives },
    costLimit: { maxCost: limits.maxCost },
    blockFieldSuggestion: { enabled: production },
  });
  const plugins: Plugin[] = [...(armor.protect().plugins as Plugin[])];
  if (production) {
    plugins.push({
      onValidate({ addValidationRule }) {
        addValidationRule(NoSchemaIntrospectionCustomRule);
      },
    });
  }
  return plugins;
}

/** Mutations per token subject, on every transport. */
export function mutationRateLimitPlugin(limiter: RateLimiter): Plugin<GraphQLContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      const { viewer } = args.contextValue as GraphQLContext;
      if (limiter.take(viewer.subject)) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError('too many mutations from this token; slow down and retry', {
            extensions: { code: 'RATE_LIMITED', http: { status: 429 } },
          }),
        ],
      });
    },
  };
}
