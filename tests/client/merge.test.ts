import { describe, expect, it } from 'vitest';
import type { AgentMessageFieldsFragment, AgentStepFieldsFragment, WorkflowNodeFieldsFragment } from '../../client/src/generated/graphql.js';
import type { AgentRun, AgentRunChange } from '../../client/src/merge-agent-run.js';
import { extendContent, insertMessage, mergeAgentRunChange, missesDelta } from '../../client/src/merge-agent-run.js';
import type { WorkflowRun, WorkflowRunChange } from '../../client/src/merge-workflow-run.js';
import { mergeWorkflowRunChange } from '../../client/src/merge-workflow-run.js';
import { applyChange, applyEvent, fromSnapshot, newer, upsertBy } from '../../client/src/merge.js';

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

const AT = '2026-11-26T00:00:00.000Z';
const summary = (overrides: Partial<AgentRun> = {}) => ({
  id: 'run',
  projectId: 'p',
  agent: 'a',
  status: 'RUNNING' as const,
  output: null,
  error: null,
  createdAt: AT,
  updatedAt: AT,
  stepCount: 0,
  messageCount: 0,
  ...overrides,
});
const step = (id: string, status: AgentStepFieldsFragment['status']): AgentStepFieldsFragment => ({
  id,
  name: id,
  status,
  startedAt: AT,
  finishedAt: null,
});
const message = (index: number): AgentMessageFieldsFragment => ({
  id: `m${index}`,
  index,
  role: 'ASSISTANT',
  content: `message ${index}`,
  status: 'COMPLETE',
  createdAt: AT,
});
const runChange = (run: Partial<AgentRun>, delta: Partial<AgentRunChange> = {}): AgentRunChange => ({
  run: summary(run),
  step: null,
  message: null,
  messageDelta: null,
  ...delta,
});

describe('merging agent run deltas', () => {
  it('replaces the summary, upserts steps by id in the order first reported and appends messages by index', () => {
    let run = mergeAgentRunChange(undefined, runChange({ status: 'PENDING' }));
    run = mergeAgentRunChange(run, runChange({ stepCount: 1 }, { step: step('plan', 'RUNNING') }));
    run = mergeAgentRunChange(run, runChange({ stepCount: 2 }, { step: step('search', 'RUNNING') }));
    run = mergeAgentRunChange(run, runChange({ stepCount: 2, messageCount: 1 }, { message: message(0) }));
    run = mergeAgentRunChange(run, runChange({ stepCount: 2, messageCount: 1 }, { step: step('plan', 'COMPLETED') }));
    run = mergeAgentRunChange(run, runChange({ stepCount: 2, messageCount: 1, status: 'COMPLETED', output: 'done' }));
    expect(run).toEqual({
      ...summary({ stepCount: 2, messageCount: 1, status: 'COMPLETED', output: 'done' }),
      steps: [step('plan', 'COMPLETED'), step('search', 'RUNNING')],
      messages: [message(0)],
    });
  });

  it('merges a snapshot that already read later steps and messages into exactly the final run', () => {
    // The run's fields were read at the cursor (one step, two messages); its collections a
    // moment later, after the step had completed, a second step had started and a message had
    // been appended. The stream delivers those three changes again.
    const snapshot: AgentRun = {
      ...summary({ stepCount: 1, messageCount: 2 }),
      steps: [step('plan', 'COMPLETED'), step('answer', 'RUNNING')],
      messages: [message(0), message(1)],
    };
    const changes = [
      runChange({ stepCount: 1, messageCount: 2 }, { step: step('plan', 'COMPLETED') }),
      runChange({ stepCount: 2, messageCount: 2 }, { step: step('answer', 'RUNNING') }),
      runChange({ stepCount: 2, messageCount: 3 }, { message: message(2) }),
    ];
    const merged = changes.reduce<AgentRun | undefined>((run, change) => mergeAgentRunChange(run, change), snapshot);
    expect(merged).toEqual({
      ...summary({ stepCount: 2, messageCount: 3 }),
      steps: [step('plan', 'COMPLETED'), step('answer', 'RUNNING')],
      messages: [message(0), message(1), message(2)],
    });
  });

  it('keeps the latest messages only, ordered by index and each once', () => {
    let messages: AgentMessageFieldsFragment[] = [];
    for (const index of [0, 1, 2, 3, 2, 4, 3, 5]) messages = insertMessage(messages, message(index), 3);
    expect(messages.map((entry) => entry.index)).toEqual([3, 4, 5]);
    expect(insertMessage([message(0), message(2)], message(1), 5).map((entry) => entry.index)).toEqual([0, 1, 2]);
    expect(insertMessage([message(0)], message(1), 0)).toEqual([]);
  });

  it('adds a run it does not hold only from an event that shows all of it', () => {
    expect(mergeAgentRunChange(undefined, runChange({ stepCount: 1 }, { step: step('plan', 'RUNNING') }))).toEqual({
      ...summary({ stepCount: 1 }),
      steps: [step('plan', 'RUNNING')],
      messages: [],
    });
    // A step of a run that has another step, or a message of a run with earlier messages.
    expect(mergeAgentRunChange(undefined, runChange({ stepCount: 2 }, { step: step('plan', 'RUNNING') }))).toBeUndefined();
    expect(mergeAgentRunChange(undefined, runChange({ messageCount: 4 }, { message: message(3) }))).toBeUndefined();
    expect(mergeAgentRunChange(undefined, runChange({ status: 'COMPLETED', stepCount: 1 }))).toBeUndefined();
  });
});

const streamed = (index: number, content: string, status: 'STREAMING' | 'COMPLETE' = 'STREAMING'): AgentMessageFieldsFragment => ({
  ...message(index),
  content,
  status,
});
const delta = (index: number, offset: number, text: string) => ({ messageId: `m${index}`, offset, text });
/** A run holding `messages`, the only ones it has. */
const holding = (...messages: AgentMessageFieldsFragment[]): AgentRun => ({
  ...summary({ messageCount: messages.length }),
  steps: [],
  messages,
});
const deltaOf = (index: number, offset: number, text: string, messageCount = index + 1) =>
  runChange({ messageCount }, { messageDelta: delta(index, offset, text) });

describe('merging streamed messages', () => {
  it('grows a message by its deltas, each piece of text once, until its completion replaces it', () => {
    let run = mergeAgentRunChange(holding(), runChange({ messageCount: 1 }, { message: streamed(0, '') }));
    const seen: string[] = [];
    for (const change of [deltaOf(0, 0, 'Hel'), deltaOf(0, 3, 'lo'), deltaOf(0, 0, 'Hel'), deltaOf(0, 3, 'lo, wo'), deltaOf(0, 9, 'rld')]) {
      run = mergeAgentRunChange(run, change);
      seen.push(run!.messages[0]!.content);
    }
    expect(seen).toEqual(['Hel', 'Hello', 'Hello', 'Hello, wo', 'Hello, world']);
    expect(run!.messages[0]!.status).toBe('STREAMING');
    run = mergeAgentRunChange(run, runChange({ messageCount: 1 }, { message: streamed(0, 'Hello, world!', 'COMPLETE') }));
    expect(run!.messages).toEqual([streamed(0, 'Hello, world!', 'COMPLETE')]);
  });

  it('extends text by UTF-16 offset: a delta inside the text adds nothing, one overlapping its end adds the tail', () => {
    const held = 'wörld 🙂';
    expect(held.length).toBe(8);
    expect(extendContent(held, { offset: 0, text: 'wö' })).toBe(held);
    expect(extendContent(held, { offset: 6, text: '🙂' })).toBe(held);
    expect(extendContent(held, { offset: 6, text: '🙂!' })).toBe('wörld 🙂!');
    expect(extendContent(held, { offset: 8, text: ' é' })).toBe('wörld 🙂 é');
    expect(extendContent(held, { offset: 9, text: 'x' })).toBeUndefined();
    expect(extendContent('', { offset: 0, text: '' })).toBe('');
  });

  it('keeps text a snapshot read ahead of its cursor when the start and deltas it holds arrive again', () => {
    // The snapshot's cursor was before the message started; its messages were read after some
    // of the message's text was stored, including text whose delta had not gone out yet.
    let run: AgentRun | undefined = holding(message(0), streamed(1, 'The answer is'));
    const held = run.messages;
    run = mergeAgentRunChange(run, runChange({ messageCount: 2 }, { message: streamed(1, '') }));
    run = mergeAgentRunChange(run, deltaOf(1, 0, 'The answer'));
    expect(run!.messages).toBe(held);
    run = mergeAgentRunChange(run, deltaOf(1, 10, ' is 42'));
    expect(run!.messages).toEqual([message(0), streamed(1, 'The answer is 42')]);
  });

  it('ignores a delta for a message it does not hold (older than its window) or holds complete', () => {
    const run = holding(message(3), streamed(4, 'done', 'COMPLETE'));
    expect(mergeAgentRunChange(run, deltaOf(1, 0, 'old text', 5))!.messages).toBe(run.messages);
    expect(mergeAgentRunChange(run, deltaOf(4, 4, ' and more', 5))!.messages).toBe(run.messages);
    expect(missesDelta(run, deltaOf(4, 40, 'far', 5))).toBe(false);
    // A delta is never the event that shows a whole run the view does not hold.
    expect(mergeAgentRunChange(undefined, deltaOf(0, 0, 'text'))).toBeUndefined();
  });

  it('does not apply a delta past the end of the text held: it marks the view stale until a snapshot after it', () => {
    const run = holding(streamed(0, 'Hello'));
    // The whole text will be 'Hello, my world!'; the view misses the delta 'my ' at 7.
    const gap = deltaOf(0, 10, 'world');
    expect(missesDelta(run, gap)).toBe(true);
    expect(missesDelta(run, deltaOf(0, 5, ', '))).toBe(false);
    expect(mergeAgentRunChange(run, gap)!.messages).toBe(run.messages);

    const apply = (state: ReturnType<typeof fromSnapshot<AgentRun>>, cursor: string, change: typeof gap) =>
      applyChange(state, cursor, 'run', (held) => mergeAgentRunChange(held, change), undefined, (held) => missesDelta(held, change));
    const snapshot = fromSnapshot([run], 'e:4');
    let view = apply(snapshot, 'e:5', deltaOf(0, 5, ', '));
    expect(view.staleAt).toBeUndefined();
    view = apply(view, 'e:7', gap);
    view = apply(view, 'e:8', deltaOf(0, 15, '!'));
    // The text stays right as far as it goes; the first event that showed the gap is kept.
    expect(view.byId.get('run')!.messages).toEqual([streamed(0, 'Hello, ')]);
    expect(view.staleAt).toBe('e:7');
    expect(view.cursor).toBe('e:8');
    // The snapshot it started from does not replace it; one read at or after e:7 does.
    expect(newer(snapshot, view)).toBe(view);
    const reloaded = fromSnapshot([holding(streamed(0, 'Hello, my world!'))], 'e:7');
    expect(newer(reloaded, view)).toBe(reloaded);
    expect(apply(reloaded, 'e:8', deltaOf(0, 15, '!')).byId.get('run')!.messages).toEqual([streamed(0, 'Hello, my world!')]);
  });
});

const counts = { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0 };
const workflow = (overrides: Partial<WorkflowRun> = {}) => ({
  id: 'flow',
  projectId: 'p',
  workflowId: 'etl',
  status: 'RUNNING' as const,
  createdAt: AT,
  updatedAt: AT,
  nodeCount: 2,
  nodeCounts: { ...counts, pending: 2 },
  ...overrides,
});
const node = (nodeId: string, status: WorkflowNodeFieldsFragment['status']): WorkflowNodeFieldsFragment => ({
  nodeId,
  status,
  output: null,
  error: null,
  updatedAt: AT,
});
const flowChange = (run: Partial<WorkflowRun>, delta: Partial<WorkflowRunChange> = {}): WorkflowRunChange => ({
  run: workflow(run),
  nodeState: null,
  nodes: null,
  ...delta,
});

describe('merging workflow deltas', () => {
  it('starts from the nodes of the start event and replaces each changed node by nodeId', () => {
    let run = mergeWorkflowRunChange(undefined, flowChange({}, { nodes: [node('extract', 'PENDING'), node('load', 'PENDING')] }));
    run = mergeWorkflowRunChange(run, flowChange({ nodeCounts: { ...counts, pending: 1, running: 1 } }, { nodeState: node('load', 'RUNNING') }));
    run = mergeWorkflowRunChange(run, flowChange({ status: 'CANCELLED', nodeCounts: { ...counts, pending: 1, running: 1 } }));
    expect(run).toEqual({
      ...workflow({ status: 'CANCELLED', nodeCounts: { ...counts, pending: 1, running: 1 } }),
      nodes: [node('extract', 'PENDING'), node('load', 'RUNNING')],
    });
  });

  it('does not add a run it does not hold from one node’s change', () => {
    expect(mergeWorkflowRunChange(undefined, flowChange({}, { nodeState: node('load', 'RUNNING') }))).toBeUndefined();
  });
});

describe('applying a change to a view', () => {
  it('moves the cursor even when the event names an entity the view cannot hold', () => {
    const state = fromSnapshot([job('a', 0)], 'e:1');
    const next = applyChange(state, 'e:2', 'b', () => undefined);
    expect(next.cursor).toBe('e:2');
    expect(next.byId).toBe(state.byId);
    expect(applyChange(next, 'e:2', 'a', () => job('a', 1))).toBe(next);
  });

  it('upserts by key, keeping the order of first appearance', () => {
    expect(upsertBy([job('a', 0), job('b', 0)], [job('c', 0), job('a', 1)], 'id')).toEqual([job('a', 1), job('b', 0), job('c', 0)]);
  });
});
