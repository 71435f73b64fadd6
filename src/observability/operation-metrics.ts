import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable } from 'graphql-yoga';
import type { Metrics } from './metrics.js';

/**
 * Query and mutation durations, and documents refused in parse or validation. Errors from
 * execution are counted by code where they are masked.
 */
export function operationMetricsPlugin(metrics: Metrics): Plugin {
  return {
    onParse: () => ({ result }) => {
      if (result instanceof Error) metrics.operationErrors.inc({ code: 'GRAPHQL_PARSE_FAILED' });
    },
    onValidate: () => ({ result }) => {
      if (result.length) metrics.operationErrors.inc({ code: 'GRAPHQL_VALIDATION_FAILED' }, result.length);
    },
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName)?.operation ?? 'unknown';
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) metrics.operationDuration.observe({ operation }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
