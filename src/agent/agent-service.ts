import { randomUUID } from 'node:crypto';
import type { Access } from '../auth/viewer.js';
import { SERVER_ACCESS } from '../auth/viewer.js';
import type { EntityLimits } from '../config.js';
import { DomainError, badUserInput, invalidTransition, notFound } from '../errors.js';
import type { EventDraft } from '../events/event-record.js';
import type { AgentRunStatus, MessageRole, StepStatus } from '../generated/resolvers-types.js';
import { newEntityId } from '../store/entity-ids.js';
import type { ChangeApplier, Decision, EntityRules, IdempotentCall } from '../store/change-applier.js';
import { keyReused } from '../store/change-applier.js';
import type { AgentMessageRecord, AgentRunRecord, AgentStepRecord } from '../store/records.js';
import type { ContentAppend, StateStore, StreamState } from '../store/state-store.js';
import { optionalText, requireId, requireText } from '../validation.js';

const FINAL_RUN_STATUSES: ReadonlySet<AgentRunStatus> = new Set(['COMPLETED', 'FAILED']);
const FINAL_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(['COMPLETED', 'FAILED', 'SKIPPED']);
/** Large enough for a long model answer; one message is one event, whatever the run's length. */
export const MAX_MESSAGE_LENGTH = 100_000;
/** One piece of streamed text: far above a model's token, far below a message. */
export const MAX_DELTA_LENGTH = 10_000;
/** Runs whose project a streaming instance remembers. */
const RUN_PROJECTS_KEPT = 10_000;
/** In Unicode mode only a surrogate without its pair is matched. */
const LONE_SURROGATE = /\p{Surrogate}/u;
/** Messages one page may hold, and how many a page holds when the caller does not say. */
export const MESSAGE_PAGE_MAX = 500;
export const MESSAGE_PAGE_DEFAULT = 50;

const RUN_RULES: EntityRules<'agentRun'> = {
  kind: 'agentRun',
  label: 'Agent run',
  finalStatus: (run) => (FINAL_RUN_STATUSES.has(run.status) ? run.status : undefined),
};

/** Which messages a page holds: `first` after `after`, or `last` before `before`. */
export interface MessagePage {
  first?: number | null;
  after?: number | null;
  last?: number | null;
  before?: number | null;
}

/**
 * A message as a mutation answers it. Storing streamed text returns the message without
 * reading its content back (that would cost the whole content per delta); `content` is read
 * only when a caller selects it.
 */
export type AgentMessageModel = Omit<AgentMessageRecord, 'content'> & { content?: string; runId?: string };

export interface AgentService {
  get(id: string): Promise<AgentRunRecord | undefined>;
  list(projectId: string): Promise<AgentRunRecord[]>;
  /** The run's steps in the order they were first reported. */
  steps(run: AgentRunRecord): Promise<AgentStepRecord[]>;
  /**
   * One page of the run's messages, never past the `messageCount` of `run`. With `maxBytes`,
   * a page larger than that is not read (`PageTooLarge`; see `StateStore.items`).
   */
  messages(run: AgentRunRecord, page: MessagePage, maxBytes?: number): Promise<AgentMessageRecord[]>;
  /** Every change takes an idempotency key's call, so that a repeat changes nothing and gets the first answer. */
  start(input: { projectId: string; agent: string }, idempotent?: IdempotentCall): Promise<AgentRunRecord>;
  updateStep(
    input: { runId: string; stepId: string; name: string; status: StepStatus },
    access: Access,
    idempotent?: IdempotentCall,
  ): Promise<AgentRunRecord>;
  appendMessage(
    input: { runId: string; role: MessageRole; content: string },
    access: Access,
    idempotent?: IdempotentCall,
  ): Promise<AgentMessageRecord>;
  /** Starts a message whose content is streamed. */
  startMessage(input: { runId: string; role: MessageRole }, access: Access, idempotent?: IdempotentCall): Promise<AgentMessageRecord>;
  /**
   * Stores text at the end of a streaming message; its delta event follows within the
   * batching window. With `offset` the text is stored only there (see `StateStore.appendContent`).
   */
  appendContent(
    input: { runId: string; messageId: string; text: string; offset?: number | null },
    access: Access,
    idempotent?: IdempotentCall,
  ): Promise<AgentMessageModel>;
  /** Sends what is left of a streaming message and marks it complete. */
  finishMessage(input: { runId: string; messageId: string }, access: Access, idempotent?: IdempotentCall): Promise<AgentMessageRecord>;
  /** A message's content as stored now. */
  contentOf(message: AgentMessageModel): Promise<string>;
  /** Stops the batching timers; text they would have sent goes out with the next delta or the finish. */
  dispose(): void;
  complete(input: { runId: string; output?: string | null }, access: Access, idempotent?: IdempotentCall): Promise<AgentRunRecord>;
  fail(input: { runId: string; error: string }, access: Access, idempotent?: IdempotentCall): Promise<AgentRunRecord>;
  /**
   * Fails a run that saw no change (streamed text included) after `idleSince` (ms), with
   * `reason`, finishing its streaming messages; see `createAbandonedWorkSweeper`.
   */
  abandon(runId: string, idleSince: number, reason: string): Promise<AgentRunRecord>;
}

function pageSize(field: string, value: number | null | undefined): number {
  const size = value ?? MESSAGE_PAGE_DEFAULT;
  if (!Number.isInteger(size) || size < 0 || size > MESSAGE_PAGE_MAX) {
    throw badUserInput(field, `must be from 0 to ${MESSAGE_PAGE_MAX}, got ${size}`);
  }
  return size;
}

/**
 * Agent runs. A run is stored as its summary; each step and each message is written on its
 * own, so a change costs what changed however long the run has grown, and every event
 * carries the change and the summary.
 */
export function createAgentService(
  dependencies: {
    store: StateStore;
    changes: ChangeApplier;
    limits: Pick<EntityLimits, 'maxMessagesPerRun' | 'maxStepsPerRun'>;
    /**
     * At most one delta event per message per window: a piece stored when the message's last
     * delta is a window old goes out at once, and later ones within the window go out together
     * when it ends. 0 sends each at once.
     * @default 50
     */
    deltaWindowMs?: number;
    /** A batched delta that could not be sent (it stays stored and goes out with the next). */
    onError?(error: unknown): void;
  },
  now: () => Date = () => new Date(),
): AgentService {
  const { store, changes, limits, deltaWindowMs = 50, onError = () => {} } = dependencies;
  const flushTimers = new Map<string, NodeJS.Timeout>();
  /**
   * The project of each run that recently had text streamed into it. A run never changes
   * project, so a piece of text, the hottest write there is, needs no read of its run for
   * the access check after the first. Bounded; the oldest entries go first.
   */
  const runProjects = new Map<string, string>();

  async function projectOfRun(runId: string): Promise<string> {
    const known = runProjects.get(runId);
    if (known !== undefined) return known;
    const run = (await store.get('agentRun', runId))?.value;
    if (!run) throw notFound('Agent run', runId);
    runProjects.set(runId, run.projectId);
    if (runProjects.size > RUN_PROJECTS_KEPT) runProjects.delete(runProjects.keys().next().value!);
    return run.projectId;
  }

  async function flush(projectId: string, runId: string, messageId: string): Promise<void> {
    const event = await store.flushContent(runId, messageId, { projectId, occurredAt: now().toISOString() });
    if (event) changes.committed([event]);
  }

  function scheduleFlush(projectId: string, runId: string, messageId: string, inMs: number): void {
    const key = `${runId}:${messageId}`;
    if (flushTimers.has(key)) return;
    flushTimers.set(
      key,
      setTimeout(() => {
        flushTimers.delete(key);
        flush(projectId, runId, messageId).catch(onError);
      }, inMs),
    );
  }

  /**
   * Completes streaming messages as read: the text not yet sent goes out as a last delta,
   * then the whole message as AGENT_MESSAGE_COMPLETED.
   */
  function completeStreams(run: AgentRunRecord, streams: StreamState[], at: string): Pick<Decision<'agentRun'>, 'completeStreams' | 'events'> {
    const events: EventDraft[] = [];
    const completed = streams.map((stream) => {
      const { content } = stream.message;
      if (stream.emitted < content.length) {
        events.push({
          type: 'AGENT_MESSAGE_DELTA',
          projectId: run.projectId,
          occurredAt: at,
          run,
          messageDelta: { messageId: stream.messageId, offset: stream.emitted, text: content.slice(stream.emitted) },
        });
      }
      const message: AgentMessageRecord = { ...stream.message, status: 'COMPLETE' };
      events.push({ type: 'AGENT_MESSAGE_COMPLETED', projectId: run.projectId, occurredAt: at, run, message });
      return { stream, message, messageCount: run.messageCount };
    });
    return { completeStreams: completed, events };
  }

  /** A run's end: any message still streaming is completed first, then the run's own event. */
  async function finishRun(type: 'AGENT_RUN_COMPLETED' | 'AGENT_RUN_FAILED', run: AgentRunRecord, next: AgentRunRecord): Promise<Decision<'agentRun'>> {
    const closing = completeStreams({ ...run, updatedAt: next.updatedAt }, await store.streams(run.id), next.updatedAt);
    const decision = runEvent(type, next);
    return { ...decision, completeStreams: closing.completeStreams, events: [...closing.events, ...decision.events] };
  }

  /** Appends a message to the run, whole or (STREAMING) to be streamed. */
  async function addMessage(
    input: { runId: string; role: MessageRole },
    access: Access,
    action: string,
    body: Pick<AgentMessageRecord, 'content' | 'status'>,
    idempotent: IdempotentCall | undefined,
  ): Promise<AgentMessageRecord> {
    return changes.update(RUN_RULES, input.runId, access, action, (run): Decision<'agentRun', AgentMessageRecord> => {
      if (run.messageCount >= limits.maxMessagesPerRun) {
        throw badUserInput('runId', `agent run "${run.id}" already has the most messages allowed (${limits.maxMessagesPerRun})`);
      }
      const at = now().toISOString();
      const added: AgentMessageRecord = { id: randomUUID(), index: run.messageCount, role: input.role, ...body, createdAt: at };
      const next: AgentRunRecord = { ...run, messageCount: run.messageCount + 1, updatedAt: at };
      return {
        projectId: run.projectId,
        value: next,
        append: [{ collection: 'messages', value: added }],
        put: [{ collection: 'messageIds', key: added.id, value: { index: added.index } }],
        openStream: added.status === 'STREAMING' ? { messageId: added.id, message: added } : undefined,
        events: [{ type: 'AGENT_MESSAGE_APPENDED', projectId: run.projectId, occurredAt: at, run: next, message: added }],
        answer: added,
      };
    }, idempotent);
  }

  function refuseAppend(outcome: ContentAppend['outcome'], input: { runId: string; messageId: string }, length?: number): never {
    switch (outcome) {
      case 'key-reused':
        throw keyReused();
      case 'offset-mismatch':
        throw new DomainError(
          'OFFSET_MISMATCH',
          `offset: the message's content is ${length} characters long, so the next piece starts at offset ${length}`,
          'offset',
          { expectedOffset: length },
        );
      case 'run-missing':
        throw notFound('Agent run', input.runId);
      case 'message-missing':
        throw notFound('Agent message', input.messageId);
      case 'run-finished':
        throw invalidTransition(`cannot append to a message of agent run "${input.runId}": the run has finished`);
      case 'message-complete':
        throw invalidTransition(`cannot append to message "${input.messageId}": it is already COMPLETE`);
      default:
        throw badUserInput('text', `would make the message longer than ${MAX_MESSAGE_LENGTH} characters (it has ${length})`);
    }
  }

  const runEvent = (type: 'AGENT_RUN_COMPLETED' | 'AGENT_RUN_FAILED', run: AgentRunRecord): Decision<'agentRun'> => ({
    projectId: run.projectId,
    value: run,
    finished: true,
    events: [{ type, projectId: run.projectId, occurredAt: run.updatedAt, run }],
  });

  return {
    async get(id) {
      return (await store.get('agentRun', id))?.value;
    },
    list(projectId) {
      return store.list('agentRun', requireId('projectId', projectId));
    },
    steps(run) {
      return store.members('steps', run.id);
    },
    messages(run, page, maxBytes) {
      if (page.first != null && page.last != null) throw badUserInput('first', 'give first or last, not both');
      if (page.first != null || page.after != null) {
        const start = page.after == null ? 0 : page.after + 1;
        return store.items('messages', run.id, start, Math.min(run.messageCount, start + pageSize('first', page.first)), maxBytes);
      }
      const end = Math.min(run.messageCount, page.before ?? run.messageCount);
      return store.items('messages', run.id, Math.max(0, end - pageSize('last', page.last)), end, maxBytes);
    },
    start(input, idempotent) {
      const projectId = requireId('projectId', input.projectId);
      const agent = requireText('agent', input.agent, 256);
      const id = newEntityId(projectId);
      return changes.apply('agentRun', id, () => {
        const at = now().toISOString();
        const run: AgentRunRecord = {
          id,
          projectId,
          agent,
          status: 'PENDING',
          output: null,
          error: null,
          createdAt: at,
          updatedAt: at,
          stepCount: 0,
          messageCount: 0,
        };
        return { projectId, value: run, events: [{ type: 'AGENT_RUN_CREATED', projectId, occurredAt: at, run }] };
      }, idempotent && { ...idempotent, projectId });
    },
    updateStep(input, access, idempotent) {
      const stepId = requireId('stepId', input.stepId);
      const name = requireText('name', input.name, 256);
      const { status } = input;
      return changes.update(RUN_RULES, input.runId, access, 'update a step of', async (run) => {
        const [previous] = await store.members('steps', run.id, [stepId]);
        if (previous && FINAL_STEP_STATUSES.has(previous.status) && previous.status !== status) {
          throw invalidTransition(`step "${stepId}" is already ${previous.status} and cannot become ${status}`);
        }
        if (!previous && run.stepCount >= limits.maxStepsPerRun) {
          throw badUserInput('stepId', `agent run "${run.id}" already has the most steps allowed (${limits.maxStepsPerRun})`);
        }
        const at = now().toISOString();
        const step: AgentStepRecord = {
          id: stepId,
          index: previous?.index ?? run.stepCount,
          name,
          status,
          startedAt: previous?.startedAt ?? (status === 'PENDING' ? null : at),
          finishedAt: previous?.finishedAt ?? (FINAL_STEP_STATUSES.has(status) ? at : null),
        };
        const startsRun = run.status === 'PENDING';
        const next: AgentRunRecord = {
          ...run,
          status: startsRun ? 'RUNNING' : run.status,
          stepCount: run.stepCount + (previous ? 0 : 1),
          updatedAt: at,
        };
        const events: EventDraft[] = [];
        if (startsRun) events.push({ type: 'AGENT_RUN_UPDATED', projectId: run.projectId, occurredAt: at, run: next });
        events.push({ type: 'AGENT_STEP_UPDATED', projectId: run.projectId, occurredAt: at, run: next, step });
        return { projectId: run.projectId, value: next, put: [{ collection: 'steps', key: stepId, value: step }], events };
      }, idempotent);
    },
    appendMessage(input, access, idempotent) {
      const content = requireText('content', input.content, MAX_MESSAGE_LENGTH);
      return addMessage(input, access, 'append a message to', { content, status: 'COMPLETE' }, idempotent);
    },
    startMessage(input, access, idempotent) {
      return addMessage(input, access, 'start a message in', { content: '', status: 'STREAMING' }, idempotent);
    },
    async appendContent(input, access, idempotent) {
      const { runId, messageId, text, offset } = input;
      requireId('messageId', messageId);
      if (text.length === 0) throw badUserInput('text', 'must not be empty');
      if (text.length > MAX_DELTA_LENGTH) throw badUserInput('text', `must be at most ${MAX_DELTA_LENGTH} characters, got ${text.length}`);
      if (LONE_SURROGATE.test(text)) throw badUserInput('text', 'must be well-formed Unicode (no lone surrogates)');
      if (offset != null && (!Number.isInteger(offset) || offset < 0)) throw badUserInput('offset', `must be a non-negative integer, got ${offset}`);
      const projectId = await projectOfRun(runId);
      access.assertWrite(projectId, 'Agent run', runId);
      // Whether the run still exists and may take text is decided where the text is stored.
      // With an offset the position itself makes a retry harmless, so no key is recorded
      // for it: a record per piece would cost more memory than the text.
      const stored = await store.appendContent(runId, messageId, text, {
        projectId,
        maxLength: MAX_MESSAGE_LENGTH,
        windowMs: deltaWindowMs,
        occurredAt: now().toISOString(),
        offset: offset ?? undefined,
        idempotency: offset == null ? idempotent?.record : undefined,
      });
      if (stored.outcome === 'replayed') {
        idempotent?.replayed();
        // The lost first attempt may have been the one told to flush: flush, so its text
        // never waits for a next piece (a flush with nothing pending sends nothing).
        if (deltaWindowMs === 0) await flush(projectId, runId, messageId);
        else scheduleFlush(projectId, runId, messageId, deltaWindowMs);
        return { ...stored.message, runId };
      }
      if (stored.outcome !== 'appended') refuseAppend(stored.outcome, input, 'length' in stored ? stored.length : undefined);
      // The text is stored: acknowledged text survives a crash, and the next flush sends it.
      // A message whose last delta is a window old went out with it, in the same step.
      if (stored.event) changes.committed([stored.event]);
      else if (stored.flushInMs === 0) await flush(projectId, runId, messageId);
      else if (stored.flushInMs !== undefined) scheduleFlush(projectId, runId, messageId, stored.flushInMs);
      return { ...stored.message, runId };
    },
    finishMessage(input, access, idempotent) {
      const { messageId } = input;
      return changes.update(RUN_RULES, input.runId, access, 'finish a message of', async (run): Promise<Decision<'agentRun', AgentMessageRecord>> => {
        const [stream] = await store.streams(run.id, messageId);
        if (!stream) {
          const [known] = await store.members('messageIds', run.id, [messageId]);
          if (known) throw invalidTransition(`cannot finish message "${messageId}": it is already COMPLETE`);
          throw notFound('Agent message', messageId);
        }
        const at = now().toISOString();
        const next: AgentRunRecord = { ...run, updatedAt: at };
        const closing = completeStreams(next, [stream], at);
        return { projectId: run.projectId, value: next, ...closing, answer: closing.completeStreams![0]!.message };
      }, idempotent);
    },
    async contentOf(message) {
      if (message.content !== undefined || message.runId === undefined) return message.content ?? '';
      const [stream] = await store.streams(message.runId, message.id);
      if (stream) return stream.message.content;
      const [item] = await store.items('messages', message.runId, message.index, message.index + 1);
      return item?.content ?? '';
    },
    complete(input, access, idempotent) {
      const output = optionalText('output', input.output, MAX_MESSAGE_LENGTH);
      return changes.update(
        RUN_RULES,
        input.runId,
        access,
        'complete',
        (run) => finishRun('AGENT_RUN_COMPLETED', run, { ...run, status: 'COMPLETED', output, updatedAt: now().toISOString() }),
        idempotent,
      );
    },
    fail(input, access, idempotent) {
      const error = requireText('error', input.error, 4096);
      return changes.update(
        RUN_RULES,
        input.runId,
        access,
        'fail',
        (run) => finishRun('AGENT_RUN_FAILED', run, { ...run, status: 'FAILED', error, updatedAt: now().toISOString() }),
        idempotent,
      );
    },
    abandon(runId, idleSince, reason) {
      return changes.update(RUN_RULES, runId, SERVER_ACCESS, 'fail', async (run) => ({
        ...(await finishRun('AGENT_RUN_FAILED', run, { ...run, status: 'FAILED', error: reason, updatedAt: now().toISOString() })),
        ifIdleSince: idleSince,
      }));
    },
    dispose() {
      for (const timer of flushTimers.values()) clearTimeout(timer);
      flushTimers.clear();
      runProjects.clear();
    },
  };
}
