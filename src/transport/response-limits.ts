import type { FragmentDefinitionNode, GraphQLField, GraphQLFieldResolver, GraphQLSchema, SelectionSetNode } from 'graphql';
import {
  GraphQLError,
  Kind,
  defaultFieldResolver,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  typeFromAST,
} from 'graphql';
import type { GraphQLCompositeType } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { MESSAGE_PAGE_DEFAULT, MESSAGE_PAGE_MAX } from '../agent/agent-service.js';
import type { Limits } from '../config.js';
import type { GraphQLContext } from '../context.js';
import type { RateLimiter } from './limiters.js';
import { HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT } from '../events/event-streams.js';
import { PageTooLarge } from '../store/state-store.js';

/**
 * The cost weights of graphql-armor's cost limit, which checks literal page sizes while the
 * document is validated; this one checks the same formula once variables are known.
 */
const OBJECT_COST = 2;
const SCALAR_COST = 1;
const DEPTH_COST_FACTOR = 1.5;

/** Arguments that say how many items a list field returns. */
const PAGE_ARGUMENTS = ['first', 'last', 'limit'] as const;

/** What a paged list field returns when the caller names no page size, and the most it returns. */
const PAGES: Readonly<Record<string, { default: number; max: number }>> = {
  'AgentRun.messages': { default: MESSAGE_PAGE_DEFAULT, max: MESSAGE_PAGE_MAX },
  'Query.events': { default: HISTORY_DEFAULT_LIMIT, max: HISTORY_MAX_LIMIT },
};

/** Whether a field's page can be other than 1: it is paged, or takes a page size. */
function isPaged(parent: GraphQLCompositeType, definition: GraphQLField<unknown, unknown>): boolean {
  return PAGES[`${parent.name}.${definition.name}`] !== undefined || definition.args.some((arg) => (PAGE_ARGUMENTS as readonly string[]).includes(arg.name));
}

/**
 * The operation's cost as graphql-armor counts it (objects 2, scalars 1, each level deeper
 * ×1.5, a list multiplied by its page), with page sizes as the field will see them: coerced
 * from variables as well as literals, and the field's default page when none is given.
 * `paged` says whether it asks for a paged field: without one the cost is the same whatever
 * the variables.
 */
export function operationCost(
  schema: GraphQLSchema,
  selectionSet: SelectionSetNode,
  rootType: GraphQLCompositeType,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): { cost: number; paged: boolean } {
  const fragmentCosts = new Map<string, number>();
  let paged = false;

  function pageOf(parent: GraphQLCompositeType, definition: GraphQLField<unknown, unknown>, node: Parameters<typeof getArgumentValues>[1]): number {
    if (!isPaged(parent, definition)) return 1;
    paged = true;
    let args: Record<string, unknown>;
    try {
      args = getArgumentValues(definition, node, variables);
    } catch {
      // Execution refuses arguments that do not coerce; they fetch nothing.
      return 1;
    }
    const page = PAGES[`${parent.name}.${definition.name}`];
    // A size over the field's own maximum is refused by the field, which then reads nothing.
    const sizes = PAGE_ARGUMENTS.map((name) => args[name]).filter(
      (value): value is number => typeof value === 'number' && (page === undefined || value <= page.max),
    );
    if (sizes.length) return Math.max(1, ...sizes);
    return page?.default ?? 1;
  }

  function selections(set: SelectionSetNode, parent: GraphQLCompositeType): number {
    let cost = 0;
    // Fragments on other types than the parent's apply to items of that type only: an item
    // of an interface or union costs its own type's fragments, the dearest of them.
    const byType = new Map<string, number>();
    const addFragment = (typeName: string | undefined, fragmentCost: number) => {
      if (typeName === undefined || typeName === parent.name) cost += fragmentCost;
      else byType.set(typeName, (byType.get(typeName) ?? 0) + fragmentCost);
    };
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[selection.name.value] : undefined;
        if (!definition) continue;
        if (!selection.selectionSet) {
          cost += DEPTH_COST_FACTOR * SCALAR_COST;
          continue;
        }
        const type = getNamedType(definition.type);
        const inner = isCompositeType(type) ? selections(selection.selectionSet, type) : 0;
        cost += DEPTH_COST_FACTOR * (OBJECT_COST + inner) * pageOf(parent, definition, selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? typeFromAST(schema, selection.typeCondition) : parent;
        const type = condition && isCompositeType(condition) ? condition : parent;
        addFragment(selection.typeCondition?.name.value, DEPTH_COST_FACTOR * (OBJECT_COST + selections(selection.selectionSet, type)));
      } else {
        const name = selection.name.value;
        const fragment = fragments[name];
        if (!fragment) continue;
        let fragmentCost = fragmentCosts.get(name);
        if (fragmentCost === undefined) {
          // A cycle is refused by validation; counted once here so the walk ends.
          fragmentCosts.set(name, 0);
          const condition = typeFromAST(schema, fragment.typeCondition);
          fragmentCost = OBJECT_COST + selections(fragment.selectionSet, condition && isCompositeType(condition) ? condition : parent);
          fragmentCosts.set(name, fragmentCost);
        }
        addFragment(fragment.typeCondition.name.value, DEPTH_COST_FACTOR * (SCALAR_COST + DEPTH_COST_FACTOR * fragmentCost));
      }
    }
    return cost + Math.max(0, ...byType.values());
  }

  // The operation's own fields are not one level deeper.
  const cost = selections(selectionSet, rootType) / DEPTH_COST_FACTOR;
  return { cost, paged };
}

function costLimitExceeded(cost: number, maxCost: number): GraphQLError {
  return new GraphQLError(
    `this operation costs ${Math.round(cost)}, over the limit of ${maxCost}: ask for smaller pages (first, last, limit), fewer fields or fewer aliases`,
    { extensions: { code: 'COST_LIMIT_EXCEEDED', cost: Math.round(cost), maxCost } },
  );
}

function queryBytesLimited(perSecond: number, retryAfter: number): GraphQLError {
  return new GraphQLError(`this token's queries took more than ${perSecond} bytes a second (a response refused as too large counts whole); retry after ${retryAfter} s`, {
    extensions: { code: 'RATE_LIMITED', retryAfter, http: { status: 429, headers: { 'Retry-After': String(retryAfter) } } },
  });
}

function responseTooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(
    `the response would be larger than ${maxBytes} bytes, so none of it was sent: ask for smaller pages, fewer fields or fewer aliases`,
    { extensions: { code: 'RESPONSE_TOO_LARGE', maxBytes } },
  );
}

/** What one operation's response has cost so far. */
interface Budget {
  bytes: number;
  over: boolean;
  /** The paged reads, one after another. */
  pages: Promise<unknown>;
  /** Objects whose fields were counted with their page. */
  counted: WeakSet<object>;
}

/** About the JSON bytes of a page of records, a few levels deep; marks them counted. */
function bytesOfPage(value: unknown, counted: WeakSet<object>, depth = 4): number {
  if (typeof value === 'string') return 4 + (value.length > 64 ? Buffer.byteLength(value) : value.length);
  if (typeof value !== 'object' || value === null) return 8;
  counted.add(value);
  if (depth === 0) return 8;
  let bytes = 2;
  if (Array.isArray(value)) {
    for (const item of value) bytes += 1 + bytesOfPage(item, counted, depth - 1);
    return bytes;
  }
  for (const [key, field] of Object.entries(value)) bytes += key.length + 4 + bytesOfPage(field, counted, depth - 1);
  return bytes;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** About the bytes a resolved value adds to the JSON response, under a key of `keyLength`. */
function bytesOf(value: unknown, keyLength: number): number {
  if (typeof value === 'string') return keyLength + 4 + (value.length > 64 ? Buffer.byteLength(value) : value.length);
  return keyLength + 8;
}

/**
 * What a query or mutation may cost, on every transport (HTTP, SSE and WebSocket execute
 * through this envelop):
 * - its cost, counted with the page sizes it really asks for (variables included, default
 *   pages for fields without one), at most `maxCost`: refused before anything is read
 *   with COST_LIMIT_EXCEEDED;
 * - its response, at most `maxResponseBytes`: the values are counted as they are resolved,
 *   and once over, resolving stops and the response is a single RESPONSE_TOO_LARGE error;
 * - with `queryBytes`, what its subject's queries took a second: refused with RATE_LIMITED
 *   while the subject's bucket is below empty, and charged once the response is known (a
 *   refused too-large one costing `maxResponseBytes`).
 */
export function responseLimitPlugins(limits: Pick<Limits, 'maxCost' | 'maxResponseBytes'>, queryBytes?: RateLimiter): Plugin[] {
  const { maxCost, maxResponseBytes } = limits;
  /** The byte count of each query or mutation running, by its context. */
  const budgets = new WeakMap<object, Budget>();
  const counting = new WeakSet<GraphQLSchema>();
  /**
   * The cost of each operation of a parsed document (documents come from yoga's parse cache)
   * that asks for no paged field, so none of its variables can change it: producers send the
   * same few mutations again and again, and their cost is counted once.
   */
  const fixedCosts = new WeakMap<object, Map<string, number>>();

  /**
   * Wraps every field's resolver, once per schema, to count what it resolves against the
   * operation's budget. Subscription events have no budget and pass straight through.
   */
  function countResolvedBytes(schema: GraphQLSchema): void {
    if (counting.has(schema)) return;
    counting.add(schema);
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
        const paged = PAGES[`${type.name}.${field.name}`] !== undefined;
        field.resolve = (source, fieldArgs, context, info) => {
          const budget = budgets.get(context as object);
          if (!budget) return resolve(source, fieldArgs, context, info);
          if (budget.over) throw responseTooLarge(maxResponseBytes);
          // Counted with the page it came in.
          if (budget.counted.has(source as object)) return resolve(source, fieldArgs, context, info);
          const charge = (bytes: number) => {
            budget.bytes += bytes;
            if (budget.bytes > maxResponseBytes) budget.over = true;
            if (budget.over) throw responseTooLarge(maxResponseBytes);
          };
          if (paged) {
            // One page read at a time per operation, counted whole as it arrives: aliases
            // cannot have many pages in memory at once past the budget.
            const read = async () => {
              if (budget.over) throw responseTooLarge(maxResponseBytes);
              const page = await Promise.resolve(resolve(source, fieldArgs, context, info)).catch((error: unknown) => {
                if (!(error instanceof PageTooLarge)) throw error;
                budget.over = true;
                throw responseTooLarge(maxResponseBytes);
              });
              charge(bytesOfPage(page, budget.counted));
              return page;
            };
            const result = budget.pages.then(read);
            budget.pages = result.catch(() => {});
            return result;
          }
          const value = resolve(source, fieldArgs, context, info);
          if (!isPromise(value)) {
            charge(bytesOf(value, info.fieldName.length));
            return value;
          }
          return value.then((resolved) => {
            charge(bytesOf(resolved, info.fieldName.length));
            return resolved;
          });
        };
      }
    }
  }

  return [
    {
      onExecute({ args, setResultAndStopExecution }) {
        const operation = getOperationAST(args.document, args.operationName);
        if (!operation) return;
        const rootType = args.schema.getRootType(operation.operation);
        if (!rootType) return;
        const operationKey = args.operationName ?? '';
        let cost = fixedCosts.get(args.document)?.get(operationKey);
        if (cost === undefined) {
          const coerced = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
          // Variables that do not coerce are refused by execution itself.
          if (coerced.errors) return;
          const fragments: Record<string, FragmentDefinitionNode> = {};
          for (const definition of args.document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
          }
          const counted = operationCost(args.schema, operation.selectionSet, rootType, fragments, coerced.coerced);
          cost = counted.cost;
          if (!counted.paged) {
            let costs = fixedCosts.get(args.document);
            if (!costs) fixedCosts.set(args.document, (costs = new Map()));
            costs.set(operationKey, cost);
          }
        }
        if (cost > maxCost) {
          setResultAndStopExecution({ errors: [costLimitExceeded(cost, maxCost)] });
          return;
        }
        // What a subject's queries may take a second: checked before, charged after, since a
        // response's size is known only once it is resolved (or refused, which costs the budget).
        const subject = operation.operation === 'query' ? (args.contextValue as Partial<GraphQLContext>).viewer?.subject : undefined;
        if (queryBytes && subject !== undefined) {
          const decision = queryBytes.take(subject, 0);
          if (!decision.allowed) {
            setResultAndStopExecution({ errors: [queryBytesLimited(queryBytes.perSecond, decision.retryAfterSeconds)] });
            return;
          }
        }

        const budget: Budget = { bytes: 0, over: false, pages: Promise.resolve(), counted: new WeakSet() };
        countResolvedBytes(args.schema);
        budgets.set(args.contextValue, budget);
        (args.contextValue as Partial<GraphQLContext>).responseBytesLeft = () => maxResponseBytes - budget.bytes;
        return {
          onExecuteDone({ setResult }) {
            if (queryBytes && subject !== undefined) queryBytes.spend(subject, budget.over ? maxResponseBytes : budget.bytes);
            // The values resolved before the cut are dropped with the errors of the fields
            // cut after it: the caller gets one error, and no partial answer to mistake for all.
            if (budget.over) setResult({ data: null, errors: [responseTooLarge(maxResponseBytes)] });
          },
        };
      },
    },
  ];
}
