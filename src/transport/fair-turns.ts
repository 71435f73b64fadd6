/**
 * Spreads work that arrives in bursts over turns of the event loop, fairly between its
 * owners (connections). `ws` hands every message of one read to its listeners in one
 * synchronous run, so fifty sockets that each send a hundred subscriptions at once would
 * otherwise be answered in one go, and a `/health` request or another client's event waits
 * behind all of it. Here at most `perTurn` pieces of work start per turn; the rest wait for
 * the next turns (`setImmediate`, so the poll phase, with every other socket's I/O, runs
 * between them), taken one per owner in turn, so a flooding connection delays only itself.
 *
 * @param perTurn pieces of work started per turn of the event loop
 * @returns `take(owner)`: undefined when the work may start now, or a promise that resolves
 *   when its turn has come
 */
export function createFairTurns(perTurn: number) {
  /** Waiting work by owner; the map's order is the rotation. */
  const waiting = new Map<object, Array<() => void>>();
  let waitingCount = 0;
  let startedThisTurn = 0;
  let scheduled = false;

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(nextTurn);
  }

  function nextTurn(): void {
    scheduled = false;
    startedThisTurn = 0;
    while (startedThisTurn < perTurn && waitingCount > 0) {
      const [owner, queue] = waiting.entries().next().value!;
      const start = queue.shift()!;
      waitingCount--;
      // To the back of the rotation, or out of it.
      waiting.delete(owner);
      if (queue.length > 0) waiting.set(owner, queue);
      startedThisTurn++;
      start();
    }
    // The budget of this turn is spent in part: the next turn starts afresh.
    if (startedThisTurn > 0) schedule();
  }

  return {
    take(owner: object): Promise<void> | undefined {
      if (waitingCount === 0 && startedThisTurn < perTurn) {
        startedThisTurn++;
        schedule();
        return undefined;
      }
      schedule();
      return new Promise<void>((resolve) => {
        const queue = waiting.get(owner);
        if (queue) queue.push(resolve);
        else waiting.set(owner, [resolve]);
        waitingCount++;
      });
    },
    /**
     * Starts an owner's waiting work at once, outside the budget: its connection closed, and
     * what waited only has to see that and give up.
     */
    release(owner: object): void {
      const queue = waiting.get(owner);
      if (!queue) return;
      waitingCount -= queue.length;
      waiting.delete(owner);
      for (const start of queue) start();
    },
    /** Pieces of work waiting for a turn. */
    waitingCount: () => waitingCount,
  };
}

export type FairTurns = ReturnType<typeof createFairTurns>;
