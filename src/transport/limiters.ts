/**
 * Counts what each token subject holds (WebSockets and SSE streams) on this instance.
 * @returns `acquire` gives a release function, or undefined when the subject is at the limit
 */
export function createConnectionLimiter(maxPerSubject: number) {
  const held = new Map<string, number>();
  return {
    acquire(subject: string): (() => void) | undefined {
      const count = held.get(subject) ?? 0;
      if (count >= maxPerSubject) return undefined;
      held.set(subject, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const remaining = held.get(subject)! - 1;
        if (remaining === 0) held.delete(subject);
        else held.set(subject, remaining);
      };
    },
    count: (subject: string) => held.get(subject) ?? 0,
  };
}

export type ConnectionLimiter = ReturnType<typeof createConnectionLimiter>;

/** Subjects tracked before full buckets are forgotten. */
const SWEEP_AT = 10_000;

/** What a rate limiter decided, with what the standard rate-limit headers report. */
export interface RateDecision {
  allowed: boolean;
  /** The bucket's size: the most taken at once. */
  limit: number;
  /** Whole tokens left after this decision. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** When refused: whole seconds (at least 1) until enough tokens for this request have come back. */
  retryAfterSeconds: number;
  /** The request asks for more than the bucket holds: it can never be allowed. */
  tooLarge: boolean;
}

/**
 * A token bucket per subject: `perSecond` sustained, bursts up to twice that.
 * @param now injectable clock, in ms
 */
export function createRateLimiter(perSecond: number, now: () => number = Date.now) {
  const capacity = perSecond * 2;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (bucket: { tokens: number; at: number }, time: number) => {
    bucket.tokens = Math.min(capacity, bucket.tokens + ((time - bucket.at) / 1000) * perSecond);
    bucket.at = time;
  };
  return {
    perSecond,
    /**
     * Charges `count` tokens after the fact, for work whose size was known only once done:
     * the bucket may go below empty, and `take` refuses until it has refilled past zero.
     */
    spend(subject: string, count: number): void {
      const time = now();
      let bucket = buckets.get(subject);
      if (!bucket) buckets.set(subject, (bucket = { tokens: capacity, at: time }));
      refill(bucket, time);
      bucket.tokens -= count;
    },
    /**
     * Takes `count` tokens at once, or none: a request of several mutations is allowed whole
     * or refused whole. One larger than the bucket is always refused (`tooLarge`).
     */
    take(subject: string, count = 1): RateDecision {
      const time = now();
      let bucket = buckets.get(subject);
      if (!bucket) {
        if (buckets.size >= SWEEP_AT) {
          for (const [key, value] of buckets) {
            refill(value, time);
            if (value.tokens >= capacity) buckets.delete(key);
          }
        }
        buckets.set(subject, (bucket = { tokens: capacity, at: time }));
      }
      refill(bucket, time);
      const tooLarge = count > capacity;
      const allowed = !tooLarge && bucket.tokens >= count;
      if (allowed) bucket.tokens -= count;
      const missing = Math.min(count, capacity) - bucket.tokens;
      return {
        allowed,
        limit: capacity,
        remaining: Math.floor(bucket.tokens),
        resetSeconds: Math.ceil((capacity - bucket.tokens) / perSecond),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(missing / perSecond)),
        tooLarge,
      };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
