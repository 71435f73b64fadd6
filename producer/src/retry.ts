/** How a producer retries what may not have happened. */
export interface RetryOptions {
  /**
   * How long one call may keep retrying, from its first attempt, in milliseconds. It covers
   * a server restart or a failover; past it the call rejects with its last (retryable) error.
   * @default 30000
   */
  deadlineMs?: number;
  /** The first pause between attempts, in milliseconds; each later one doubles. @default 100 */
  initialDelayMs?: number;
  /** The longest pause between attempts, in milliseconds (a `Retry-After` may ask for longer). @default 5000 */
  maxDelayMs?: number;
  /** How long one attempt may wait for its answer, in milliseconds. @default 10000 */
  requestTimeoutMs?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  return {
    deadlineMs: options.deadlineMs ?? 30_000,
    initialDelayMs: options.initialDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 5000,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
  };
}

/**
 * The pause before retry number `retry` (0 for the first): exponential, with half of it
 * random, so that producers cut off together do not come back together.
 */
export function backoffDelay(retry: number, options: ResolvedRetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(retry, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
