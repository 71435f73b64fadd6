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
    /** Takes one token; false when the subject has none left. */
    take(subject: string): boolean {
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
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
