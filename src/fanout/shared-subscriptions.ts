import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { Kind, getArgumentValues, getVariableValues, print, visit } from 'graphql';
import type { Viewer } from '../auth/viewer.js';
import { accessFor, readDecision, viewerDecidedOn } from '../auth/viewer.js';
import type { GraphQLContext } from '../context.js';
import type { LogPosition } from '../events/event-record.js';
import type { AudienceSourceTap } from '../events/event-streams.js';

/**
 * Subscription fields whose result depends on the caller only through `requireRead(viewer,
 * projectId)`: each checks that and nothing else, and the event types they return resolve
 * without looking at the caller. A field added later shares only once it is listed here.
 */
const SHAREABLE_FIELDS: ReadonlySet<string> = new Set(['ingestJob', 'agentRun', 'workflowNodeState', 'projectEvents']);

export interface SubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** How a subscription takes part in a shared audience. */
export interface SharePlan {
  /** Equal for subscriptions whose results are equal: operation, variables, and the rights used. */
  key: string;
  /** The subscription field, for metrics. */
  field: string;
  /** The project the subscription reads. */
  projectId: string;
  /** The variables the shared execution runs with: the member's, without its cursor. */
  variables: Record<string, unknown>;
  /** The rights in the key and no others: the shared execution runs as this viewer. */
  viewer: Viewer;
  /** The member's cursor when it resumes: it replays after it on its own, then joins. */
  after?: string;
}

/** JSON with sorted keys, so equal variables give equal keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const normalised = new WeakMap<DocumentNode, string>();

/**
 * The document as what it means: printed without comments or layout, with the selections of
 * each selection set and the variable definitions in a fixed order, so texts that differ in
 * none of that share one audience. Printed once per parsed document; the parser's cache
 * gives one document per distinct text.
 */
export function normalisedDocument(document: DocumentNode): string {
  let text = normalised.get(document);
  if (text === undefined) {
    const sorted = visit(document, {
      // On leaving, the nested sets are sorted already: each selection is printed once here.
      SelectionSet: { leave: (node) => ({ ...node, selections: byPrinted(node.selections) }) },
      OperationDefinition: { leave: (node) => ({ ...node, variableDefinitions: node.variableDefinitions && byPrinted(node.variableDefinitions) }) },
    });
    text = print(sorted);
    normalised.set(document, text);
  }
  return text;
}

function byPrinted<T extends Parameters<typeof print>[0]>(nodes: readonly T[]): T[] {
  return nodes
    .map((node) => ({ node, text: print(node) }))
    .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
    .map(({ node }) => node);
}

function variableUses(document: DocumentNode, name: string): number {
  let uses = 0;
  visit(document, {
    // A definition names the variable; it is not a use.
    VariableDefinition: () => false,
    Variable: (node) => void (node.name.value === name && uses++),
  });
  return uses;
}

/**
 * Whether and how a subscription can share an execution. Undefined when it cannot: not a
 * single listed field, a cursor written into the document, variables that do not coerce
 * (its own execution reports them).
 */
export function planShare(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  payload: SubscribePayload,
  viewer: Viewer,
): SharePlan | undefined {
  if (operation.operation !== 'subscription' || operation.selectionSet.selections.length !== 1) return undefined;
  const [field] = operation.selectionSet.selections;
  if (field?.kind !== Kind.FIELD || field.directives?.length || !SHAREABLE_FIELDS.has(field.name.value)) return undefined;
  const definition = schema.getSubscriptionType()?.getFields()[field.name.value];
  if (!definition) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
  if (coerced.errors) return undefined;
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(definition, field, coerced.coerced);
  } catch {
    return undefined;
  }
  if (typeof args.projectId !== 'string') return undefined;

  const variables = { ...coerced.coerced };
  let after: string | undefined;
  const afterArgument = field.arguments?.find((argument) => argument.name.value === 'after');
  if (afterArgument && afterArgument.value.kind !== Kind.NULL) {
    // Only a cursor passed as a variable used nowhere else can be set aside for the audience.
    if (afterArgument.value.kind !== Kind.VARIABLE) return undefined;
    const name = afterArgument.value.name.value;
    if (variableUses(document, name) !== 1) return undefined;
    after = typeof args.after === 'string' ? args.after : undefined;
    delete variables[name];
  }
  // Explicit null and absent give the fields the same argument.
  for (const name of Object.keys(variables)) if (variables[name] == null) delete variables[name];

  const decision = readDecision(viewer, args.projectId);
  return {
    key: [field.name.value, decision, payload.operationName ?? '', canonical(variables), normalisedDocument(document)].join('\n'),
    field: field.name.value,
    projectId: args.projectId,
    variables,
    viewer: viewerDecidedOn(args.projectId, decision),
    after,
  };
}

/** What `createAudiences().join` runs for a subscription, from the arguments it would execute with. */
export function sharedExecution(
  plan: SharePlan,
  args: ExecutionArgs & { contextValue: GraphQLContext },
  subscribe: (args: ExecutionArgs) => unknown,
): {
  projectId: string;
  subject: string;
  start(tap: AudienceSourceTap): Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;
  resume?: { after: string; replay(until: LogPosition): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> };
} {
  const { contextValue } = args;
  return {
    projectId: plan.projectId,
    subject: contextValue.viewer.subject,
    start: async (tap) =>
      (await subscribe({
        ...args,
        variableValues: plan.variables,
        // The audience outlives any one member: it carries no member's expiry, connection or
        // slow-consumer hook, and only the rights its key names.
        contextValue: {
          ...contextValue,
          viewer: plan.viewer,
          access: accessFor(plan.viewer),
          onSlowConsumer: undefined,
          holdConnection: undefined,
          audienceSource: tap,
        } satisfies GraphQLContext,
      })) as AsyncIterable<ExecutionResult> | ExecutionResult,
    resume:
      plan.after === undefined
        ? undefined
        : {
            after: plan.after,
            replay: async (until) =>
              (await subscribe({
                ...args,
                contextValue: { ...contextValue, holdConnection: undefined, replayUntil: until } satisfies GraphQLContext,
              })) as AsyncIterable<ExecutionResult> | ExecutionResult,
          },
  };
}
