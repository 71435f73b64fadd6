import { EnvelopArmor } from '@escape.tech/graphql-armor';
import type { DocumentNode, FragmentDefinitionNode, SelectionSetNode } from 'graphql';
import { GraphQLError, Kind, NoSchemaIntrospectionCustomRule, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Limits } from '../config.js';
import type { GraphQLContext } from '../context.js';
import type { RateDecision, RateLimiter } from './limiters.js';

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

/**
 * Mutation fields an operation asks for: a document of 15 aliased appends is 15 mutations,
 * as it is 15 changes.
 */
function mutationFieldCount(document: DocumentNode, selectionSet: SelectionSetNode, seen = new Set<string>()): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') count++;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += mutationFieldCount(document, selection.selectionSet, seen);
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = document.definitions.find(
        (definition): definition is FragmentDefinitionNode =>
          definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value,
      );
      if (fragment) count += mutationFieldCount(document, fragment.selectionSet, seen);
    }
  }
  return count;
}

/**
 * Mutations per token subject, on every transport, each mutation field counted. A refusal
 * says when to come back: `Retry-After` on HTTP, `extensions.retryAfter` (seconds) everywhere.
 * HTTP answers to mutations carry the standard `RateLimit-Limit`, `RateLimit-Remaining` and
 * `RateLimit-Reset` headers.
 */
export function mutationRateLimitPlugin(limiter: RateLimiter): Plugin<GraphQLContext> {
  const decisions = new WeakMap<Request, RateDecision>();
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const { viewer, request } = args.contextValue as GraphQLContext & { request?: Request };
      const count = Math.max(1, mutationFieldCount(args.document, operation.selectionSet));
      const decision = limiter.take(viewer.subject, count);
      if (request) decisions.set(request, decision);
      if (decision.allowed) return;
      if (decision.tooLarge) {
        // Waiting would not help: say so with a code that is not retried.
        setResultAndStopExecution({
          errors: [
            new GraphQLError(`this operation holds ${count} mutations; a token may send at most ${decision.limit} at once`, {
              extensions: { code: 'BAD_USER_INPUT' },
            }),
          ],
        });
        return;
      }
      const retryAfter = decision.retryAfterSeconds;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(`too many mutations from this token: at most ${limiter.perSecond} a second; retry after ${retryAfter} s`, {
            extensions: { code: 'RATE_LIMITED', retryAfter, http: { status: 429, headers: { 'Retry-After': String(retryAfter) } } },
          }),
        ],
      });
    },
    onResponse({ request, response }) {
      const decision = decisions.get(request);
      if (!decision) return;
      response.headers.set('RateLimit-Limit', String(decision.limit));
      response.headers.set('RateLimit-Remaining', String(decision.remaining));
      response.headers.set('RateLimit-Reset', String(decision.resetSeconds));
    },
  };
}
