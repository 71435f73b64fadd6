/**
 * Cursors are opaque to applications; this client reads them only to drop an event it has
 * already seen. Format: `<epoch>:<seq>`.
 */
export function isAfter(cursor: string, previous: string | undefined): boolean {
  if (previous === undefined) return true;
  const [epoch, seq] = cursor.split(':');
  const [previousEpoch, previousSeq] = previous.split(':');
  // A new epoch means the server's log started over: everything in it is new.
  return epoch !== previousEpoch || Number(seq) > Number(previousSeq);
}

/** The cursor of a subscription result: every stream's root field carries one. */
export function cursorOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  for (const value of Object.values(data)) {
    const cursor = (value as { cursor?: unknown } | null)?.cursor;
    if (typeof cursor === 'string') return cursor;
  }
  return undefined;
}
