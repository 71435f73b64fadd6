import type { DocumentNode, ExecutionResult, GraphQLField, GraphQLObjectType, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { getNamedType, getOperationAST, isAbstractType, isLeafType, isObjectType, isRequiredArgument, parse, validate } from 'graphql';
import { dottedEventName } from '../../events/event-names.js';
import type { EventType } from '../../generated/resolvers-types.js';
import type { ResultEncoding } from '../../fanout/audiences.js';
import { SharedPayload } from '../../fanout/audiences.js';

/**
 * Streams for clients that do not speak GraphQL run on the same subscription fields as
 * GraphQL clients, with a document this server writes itself: every field of every event
 * the stream can yield. Each result is then written as one plain JSON message, so a message
 * holds exactly what the GraphQL event gives a client that selects everything.
 */
export interface PlainDocument {
  /** The subscription field the stream runs on. */
  field: string;
  query: string;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** How each result is written: the plain message, and for SSE its `id:` and `event:` lines. */
  encode: ResultEncoding;
}

/** Leads every message, in this order; the event's own fields follow. */
const ENVELOPE = ['type', 'cursor', 'projectId', 'occurredAt'] as const;

/** Nested selections are bounded; event payloads are a few levels deep. */
const MAX_SELECTION_DEPTH = 6;

function selectionOf(type: GraphQLObjectType, depth: number): string {
  if (depth > MAX_SELECTION_DEPTH) throw new Error(`${type.name}: event payloads nest deeper than ${MAX_SELECTION_DEPTH} levels`);
  const fields = Object.values(type.getFields())
    // A field that needs an argument is a query's (a page of messages), never an event's.
    .filter((field) => !field.args.some(isRequiredArgument))
    .map((field) => `${field.name}${subselection(field, depth)}`);
  return `{ ${fields.join(' ')} }`;
}

function subselection(field: GraphQLField<unknown, unknown>, depth: number): string {
  const named = getNamedType(field.type);
  if (isLeafType(named)) return '';
  if (isObjectType(named)) return ` ${selectionOf(named, depth + 1)}`;
  throw new Error(`${field.name}: ${named.name} is abstract; plain messages cannot say which type a value is`);
}

/**
 * The subscription selecting everything `field` can yield. Fields of the same name but
 * different types on different event types (`AgentRunEvent.run`, `WorkflowEvent.run`) cannot
 * be selected side by side under one name, so each gets an alias, and the message names it
 * back.
 */
export function createPlainDocument(schema: GraphQLSchema, field: string): PlainDocument {
  const definition = schema.getSubscriptionType()?.getFields()[field];
  if (!definition) throw new Error(`Subscription.${field} does not exist`);
  const returned = getNamedType(definition.type);
  const eventTypes: readonly GraphQLObjectType[] = isAbstractType(returned)
    ? schema.getPossibleTypes(returned)
    : isObjectType(returned)
      ? [returned]
      : [];
  if (eventTypes.length === 0) throw new Error(`Subscription.${field} does not yield objects`);

  const typesByName = new Map<string, Set<string>>();
  for (const eventType of eventTypes) {
    for (const each of Object.values(eventType.getFields())) {
      typesByName.set(each.name, (typesByName.get(each.name) ?? new Set()).add(String(each.type)));
    }
  }
  const aliases = new Map<string, string>();
  const fragments = eventTypes.map((eventType) => {
    const fields = Object.values(eventType.getFields())
      .filter((each) => !each.args.some(isRequiredArgument))
      .map((each) => {
        const selected = `${each.name}${subselection(each, 1)}`;
        if (typesByName.get(each.name)!.size === 1) return selected;
        const alias = `${eventType.name}_${each.name}`;
        aliases.set(alias, each.name);
        return `${alias}: ${selected}`;
      });
    return `... on ${eventType.name} { ${fields.join(' ')} }`;
  });
  const variables = definition.args.map((argument) => `$${argument.name}: ${String(argument.type)}`);
  const argumentsText = definition.args.map((argument) => `${argument.name}: $${argument.name}`);
  const operationName = `Plain_${field}`;
  const query = `subscription ${operationName}(${variables.join(', ')}) { ${field}(${argumentsText.join(', ')}) { ${fragments.join(' ')} } }`;
  const document = parse(query);
  const errors = validate(schema, document);
  if (errors.length) throw new Error(`the plain stream document of ${field} is invalid: ${errors.map(String).join('; ')}`);
  return { field, query, document, operation: getOperationAST(document, operationName)!, encode: plainEncoding(field, aliases) };
}

/** An error in a result, written in place of the event it should have been. */
function errorMessage(result: ExecutionResult): { code: string; message: string } {
  const [error] = result.errors ?? [];
  return {
    code: String(error?.extensions?.code ?? 'INTERNAL_SERVER_ERROR'),
    message: error?.message ?? 'the event could not be read',
  };
}

function plainEncoding(field: string, aliases: ReadonlyMap<string, string>): ResultEncoding {
  return (result, position) => {
    const event = result.data?.[field] as Record<string, unknown> | null | undefined;
    if (!event || result.errors?.length) {
      // Events resolve from their records alone, so this does not happen in practice; if it
      // does, the client learns of it rather than meeting a silent gap.
      const json = JSON.stringify({ type: 'error', ...errorMessage(result) });
      return new SharedPayload(json, position, (text) => `event: error\ndata: ${text}\n\n`);
    }
    const type = dottedEventName(event.type as EventType);
    const message: Record<string, unknown> = { type };
    for (const name of ENVELOPE) if (name !== 'type') message[name] = event[name];
    for (const [name, value] of Object.entries(event)) {
      if (!(ENVELOPE as readonly string[]).includes(name)) message[aliases.get(name) ?? name] = value;
    }
    const cursor = String(event.cursor);
    // JSON.stringify escapes line breaks, so the message is one `data:` line.
    return new SharedPayload(JSON.stringify(message), position, (json) => `id: ${cursor}\nevent: ${type}\ndata: ${json}\n\n`);
  };
}
