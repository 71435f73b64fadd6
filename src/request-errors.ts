import type { ExecutionResult } from 'graphql';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable } from 'graphql-yoga';
import { isGraphQLError } from './errors.js';

/**
 * Gives a code to the failures yoga and graphql-js leave without one, so every answer on
 * every transport carries `extensions.code`:
 *
 * - A request error (a result with no `data`: the request failed before execution) whose
 *   errors have no code is a variable that does not coerce to its declared type, or a
 *   required one missing: `BAD_USER_INPUT`, as the same mistake written inline is
 *   `GRAPHQL_VALIDATION_FAILED`.
 * - A body in a Content-Type no parser reads, which yoga answers with a bare 415: `BAD_REQUEST`.
 * - A POST body that is not JSON: `BAD_REQUEST`, whose message says why once and does not
 *   echo the body (`@whatwg-node/node-fetch` appends the whole body to V8's own message).
 */
export function requestErrorCodesPlugin(): Plugin {
  const withCodes = (result: ExecutionResult): ExecutionResult => {
    if ('data' in result || !result.errors?.some((error) => error.extensions?.code === undefined)) return result;
    return {
      ...result,
      errors: result.errors.map((error) =>
        // graphql-js's own errors only: an error thrown by our code keeps its own code (or is masked).
        error.extensions?.code !== undefined || (error.originalError && !isGraphQLError(error.originalError))
          ? error
          : new GraphQLError(error.message, {
              nodes: error.nodes,
              source: error.source,
              positions: error.positions,
              path: error.path,
              extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
            }),
      ),
    };
  };
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser) {
        const type = request.headers.get('content-type') ?? 'none';
        setRequestParser(() => {
          throw new GraphQLError(`Content-Type ${type} is not supported: POST application/json, or GET with the query in the URL`, {
            extensions: { code: 'BAD_REQUEST', http: { status: 415 } },
          });
        });
        return;
      }
      setRequestParser(async (parsed) => {
        try {
          return await requestParser(parsed);
        } catch (error) {
          // yoga keeps the JSON parser's own error only as `extensions.originalError`.
          const cause = isGraphQLError(error) ? (error.extensions?.originalError as { name?: string; message?: string } | undefined) : undefined;
          if (cause?.name !== 'SyntaxError' || typeof cause.message !== 'string') throw error;
          // V8's reason comes first ("Unexpected token 'o'", "Unexpected end of JSON input"); the rest quotes the body.
          const reason = cause.message.split(', "', 1)[0];
          throw new GraphQLError(`POST body is not valid JSON: ${reason}`, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
        }
      });
    },
    onExecute: () => ({
      onExecuteDone({ result, setResult }) {
        if (!isAsyncIterable(result)) setResult(withCodes(result));
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult({ result, setResult }) {
        if (!isAsyncIterable(result)) setResult(withCodes(result));
      },
    }),
  };
}
