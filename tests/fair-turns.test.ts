import { describe, expect, it } from 'vitest';
import { createFairTurns } from '../src/transport/fair-turns.js';

/** Takes a turn for `owner` and records, in `started`, when its work starts. */
function takeFor(turns: ReturnType<typeof createFairTurns>, owner: object, name: string, started: string[]): Promise<void> {
  const turn = turns.take(owner);
  if (!turn) {
    started.push(name);
    return Promise.resolve();
  }
  return turn.then(() => void started.push(name));
}

describe('fair turns', () => {
  it('start at most perTurn pieces of work per turn, the waiting ones one per owner in turn', async () => {
    const turns = createFairTurns(2);
    const flooding = {};
    const other = {};
    const started: string[] = [];
    const work = [1, 2, 3, 4, 5, 6].map((index) => takeFor(turns, flooding, `flood ${index}`, started));
    // Arrives behind the flood's burst, and starts in the first turn after it.
    work.push(takeFor(turns, other, 'other', started));
    expect(started).toEqual(['flood 1', 'flood 2']);
    expect(turns.waitingCount()).toBe(5);

    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['flood 1', 'flood 2', 'flood 3', 'other']);
    await Promise.all(work);
    expect(started).toEqual(['flood 1', 'flood 2', 'flood 3', 'other', 'flood 4', 'flood 5', 'flood 6']);
  });

  it('release an owner’s waiting work at once, outside the budget', async () => {
    const turns = createFairTurns(1);
    const closing = {};
    const started: string[] = [];
    const work = [1, 2, 3].map((index) => takeFor(turns, closing, `closing ${index}`, started));
    turns.release(closing);
    await Promise.all(work);
    expect(started).toEqual(['closing 1', 'closing 2', 'closing 3']);
    expect(turns.waitingCount()).toBe(0);
  });
});
