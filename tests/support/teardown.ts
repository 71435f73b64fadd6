import { afterEach } from 'vitest';

/**
 * Leftovers of the running test (clients, subscriptions, servers, files), disposed in
 * reverse order after each test, whether it passed or not.
 */
export function createTeardown() {
  const steps: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return {
    push: (step: () => unknown) => void steps.push(step),
  };
}
