import type { Server } from 'node:http';
import type { DocumentNode, ExecutionArgs } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { GraphQLContext } from '../context.js';
import { isGraphQLError } from '../errors.js';

interface EnvelopedRoot {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
}

/**
 * GraphQL over WebSocket (`graphql-transport-ws`) on `path`, executed through yoga's
 * envelop so that error masking and every other yoga plugin apply as they do over HTTP.
 *
 * @returns the teardown: closes every socket (1001 Going away) and the server
 */
export function attachWebSocketTransport(
  httpServer: Server,
  yoga: YogaServerInstance<object, GraphQLContext>,
  path: string,
): { dispose(): Promise<void>; clientCount(): number } {
  const webSocketServer = new WebSocketServer({ server: httpServer, path });
  const graphqlWs = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onSubscribe: async (context, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...context,
          req: context.extra.request,
          socket: context.extra.socket,
          params: payload,
        });
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          // A syntax error is the client's: answer it as an error message, keep the socket.
          if (isGraphQLError(error)) return [error];
          throw error;
        }
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    webSocketServer,
  );
  return {
    async dispose() {
      await graphqlWs.dispose();
      await new Promise<void>((resolve) => webSocketServer.close(() => resolve()));
    },
    clientCount: () => webSocketServer.clients.size,
  };
}
