import type { Exchange, ExecutionResult } from 'urql';
import { subscriptionExchange } from 'urql';
import type { SubscribingClient } from './resumable-subscription.js';
import { subscribeResumable } from './resumable-subscription.js';

/**
 * urql's subscription exchange over a graphql-ws or graphql-sse client, with every
 * subscription resumed after the last event it delivered when the connection comes back.
 *
 * @remarks
 * Subscriptions select `cursor` on their root field and take `after` (every stream of this
 * API does). Unsubscribing, or the component that held the subscription unmounting, ends
 * the server-side subscription; a `CURSOR_EXPIRED` error reaches the operation's result like
 * any GraphQL error.
 *
 * @example
 * new Client({ url, exchanges: [fetchExchange, resumableExchange(createClient({ url: wsUrl }))] });
 */
export function resumableExchange(subscriber: SubscribingClient): Exchange {
  return subscriptionExchange({
    forwardSubscription: (request) => ({
      subscribe: (sink) => {
        const subscription = subscribeResumable(
          subscriber,
          { query: request.query ?? '', variables: request.variables as Record<string, unknown> | undefined },
          {
            // What arrives is the result as formatted on the wire, which urql reads as its own.
            next: (result) => sink.next(result as ExecutionResult),
            error: (error) => sink.error(error),
            complete: () => sink.complete(),
          },
        );
        return { unsubscribe: () => subscription.dispose() };
      },
    }),
  });
}
