import { randomUUID } from 'node:crypto';
import type { Access } from '../auth/viewer.js';
import type { EntityLimits } from '../config.js';
import { badUserInput, invalidTransition } from '../errors.js';
import type { EventDraft } from '../events/event-record.js';
import type { AgentRunStatus, MessageRole, StepStatus } from '../generated/resolvers-types.js';
import type { ChangeApplier, Decision, EntityRules } from '../store/change-applier.js';
import type { AgentMessageRecord, AgentRunRecord, AgentStepRecord, StateStore } from '../store/state-store.js';
import { optionalText, requireId, requireText } from '../validation.js';

const FINAL_RUN_STATUSES: ReadonlySet<AgentRunStatus> = new Set(['COMPLETED', 'FAILED']);
const FINAL_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(['COMPLETED', 'FAILED', 'SKIPPED']);
/** Large enough for a long model answer; one message is one event, whatever the run's length. */
const MAX_MESSAGE_LENGTH = 100_000;
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

export interface AgentService {
  get(id: string): Promise<AgentRunRecord | undefined>;
  list(projectId: string): Promise<AgentRunRecord[]>;
  /** The run's steps in the order they were first reported. */
  steps(run: AgentRunRecord): Promise<AgentStepRecord[]>;
  /** One page of the run's messages, never past the `messageCount` of `run`. */
  messages(run: AgentRunRecord, page: MessagePage): Promise<AgentMessageRecord[]>;
  start(input: { projectId: string; agent: string }): Promise<AgentRunRecord>;
  updateStep(
    input: { runId: string; stepId: string; name: string; status: StepStatus },
    access: Access,
  ): Promise<AgentRunRecord>;
  appendMessage(input: { runId: string; role: MessageRole; content: string }, access: Access): Promise<AgentMessageRecord>;
  complete(input: { runId: string; output?: string | null }, access: Access): Promise<AgentRunRecord>;
  fail(input: { runId: string; error: string }, access: Access): Promise<AgentRunRecord>;
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
  dependencies: { store: StateStore; changes: ChangeApplier; limits: Pick<EntityLimits, 'maxMessagesPerRun' | 'maxStepsPerRun'> },
  now: () => Date = () => new Date(),
): AgentService {
  const { store, changes, limits } = dependencies;

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
    messages(run, page) {
      if (page.first != null && page.last != null) throw badUserInput('first', 'give first or last, not both');
      if (page.first != null || page.after != null) {
        const start = page.after == null ? 0 : page.after + 1;
        return store.items('messages', run.id, start, Math.min(run.messageCount, start + pageSize('first', page.first)));
      }
      const end = Math.min(run.messageCount, page.before ?? run.messageCount);
      return store.items('messages', run.id, Math.max(0, end - pageSize('last', page.last)), end);
    },
    start(input) {
      const projectId = requireId('projectId', input.projectId);
      const agent = requireText('agent', input.agent, 256);
      const id = randomUUID();
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
      });
    },
    updateStep(input, access) {
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
      });
    },
    async appendMessage(input, access) {
      const content = requireText('content', input.content, MAX_MESSAGE_LENGTH);
      let message: AgentMessageRecord | undefined;
      await changes.update(RUN_RULES, input.runId, access, 'append a message to', (run) => {
        if (run.messageCount >= limits.maxMessagesPerRun) {
          throw badUserInput('runId', `agent run "${run.id}" already has the most messages allowed (${limits.maxMessagesPerRun})`);
        }
        const at = now().toISOString();
        const appended: AgentMessageRecord = { id: randomUUID(), index: run.messageCount, role: input.role, content, createdAt: at };
        message = appended;
        const next: AgentRunRecord = { ...run, messageCount: run.messageCount + 1, updatedAt: at };
        return {
          projectId: run.projectId,
          value: next,
          append: [{ collection: 'messages', value: appended }],
          events: [{ type: 'AGENT_MESSAGE_APPENDED', projectId: run.projectId, occurredAt: at, run: next, message: appended }],
        };
      });
      return message!;
    },
    complete(input, access) {
      const output = optionalText('output', input.output, MAX_MESSAGE_LENGTH);
      return changes.update(RUN_RULES, input.runId, access, 'complete', (run) =>
        runEvent('AGENT_RUN_COMPLETED', { ...run, status: 'COMPLETED', output, updatedAt: now().toISOString() }),
      );
    },
    fail(input, access) {
      const error = requireText('error', input.error, 4096);
      return changes.update(RUN_RULES, input.runId, access, 'fail', (run) =>
        runEvent('AGENT_RUN_FAILED', { ...run, status: 'FAILED', error, updatedAt: now().toISOString() }),
      );
    },
  };
}
