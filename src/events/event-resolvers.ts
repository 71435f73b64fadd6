import { badUserInput } from '../errors.js';
import type { EventType, Resolvers } from '../generated/resolvers-types.js';
import type { EventRecord } from './event-record.js';
import { encodeCursor, eventTypename } from './event-record.js';

const cursor = (event: EventRecord) => encodeCursor(event);

/** The `Event` interface and its cursors, history, snapshots and the project-wide stream. */
export const eventResolvers: Resolvers = {
  Query: {
    projectSnapshot: (_, { projectId }, context) => context.streams.snapshot(context, projectId),
    events: (_, args, context) => context.streams.history(context, args, context.responseBytesLeft?.()),
  },
  ProjectSnapshot: {
    cursor: (snapshot) => encodeCursor(snapshot.position),
  },
  Event: {
    __resolveType: (event) => eventTypename(event.type),
  },
  IngestJobEvent: { cursor },
  AgentRunEvent: { cursor },
  WorkflowEvent: { cursor },
  Subscription: {
    projectEvents: {
      subscribe: (_, { projectId, types, after }, context) => {
        if (types?.length === 0) throw badUserInput('types', 'must name at least one event type, or be left out');
        const wanted: ReadonlySet<EventType> | undefined = types ? new Set(types) : undefined;
        return context.streams.open(context, {
          field: 'projectEvents',
          projectId,
          after,
          accepts: (event): event is EventRecord => wanted === undefined || wanted.has(event.type),
        });
      },
      resolve: (event: EventRecord) => event,
    },
  },
};
