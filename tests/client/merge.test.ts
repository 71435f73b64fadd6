import { describe, expect, it } from 'vitest';
import { applyEvent, fromSnapshot, newer } from '../../client/src/merge.js';

const job = (id: string, progress: number) => ({ id, progress });

describe('merging a stream into a view', () => {
  it('keeps the latest state of each entity, in first-seen order', () => {
    let state = fromSnapshot([job('a', 0), job('b', 0)], 'e:2');
    state = applyEvent(state, 'e:3', job('b', 0.5));
    state = applyEvent(state, 'e:4', job('c', 0));
    state = applyEvent(state, 'e:5', job('a', 1));
    expect([...state.byId.values()]).toEqual([job('a', 1), job('b', 0.5), job('c', 0)]);
    expect(state.cursor).toBe('e:5');
  });

  it('ignores events the view already reflects, so a replay after reconnect changes nothing', () => {
    const state = applyEvent(fromSnapshot([job('a', 0.2)], 'e:7'), 'e:8', job('a', 0.3));
    expect(applyEvent(state, 'e:8', job('a', 0.3))).toBe(state);
    expect(applyEvent(state, 'e:6', job('a', 0.1))).toBe(state);
    expect(applyEvent(state, 'e:10', job('a', 0.9)).byId.get('a')).toEqual(job('a', 0.9));
  });

  it('follows a new epoch: the log started over and everything in it is new', () => {
    const state = fromSnapshot([job('a', 0.2)], 'old:90');
    expect(applyEvent(state, 'new:1', job('a', 0)).byId.get('a')).toEqual(job('a', 0));
  });

  it('stays bounded on a long stream, dropping the oldest entities', () => {
    let state = fromSnapshot<{ id: string; progress: number }>([], 'e:0', 3);
    for (let index = 1; index <= 1000; index++) state = applyEvent(state, `e:${index}`, job(`job-${index}`, 0), 3);
    expect([...state.byId.keys()]).toEqual(['job-998', 'job-999', 'job-1000']);
  });

  it('picks whichever view is further along', () => {
    const snapshot = fromSnapshot([job('a', 0)], 'e:5');
    const streamed = applyEvent(fromSnapshot([job('a', 0)], 'e:2'), 'e:3', job('a', 0.1));
    expect(newer(snapshot, streamed)).toBe(snapshot);
    const ahead = applyEvent(snapshot, 'e:6', job('a', 0.6));
    expect(newer(snapshot, ahead)).toBe(ahead);
    expect(newer(snapshot, undefined)).toBe(snapshot);
  });
});
