import { randomUUID } from 'node:crypto';
import type { Access } from '../auth/viewer.js';
import { invalidTransition, notFound } from '../errors.js';
import type { EventDraft } from '../events/event-record.js';
import type {
  AgentMessage,
  AgentRun,
  AgentRunStatus,
  AgentStep,
  MessageRole,
  StepStatus,
} from '../generated/resolvers-types.js';
import type { ChangeApplier } from '../store/change-applier.js';
import type { StateStore } from '../store/state-store.js';
import { optionalText, requireId, requireText } from '../validation.js';

const FINAL_RUN_STATUSES: ReadonlySet<AgentRunStatus> = new Set(['COMPLETED', 'FAILED']);
const FINAL_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(['COMPLETED', 'FAILED', 'SKIPPED']);
/** Large enough for a long model answer, small enough that one run's events stay cheap to fan out. */
const MAX_MESSAGE_LENGTH = 100_000;

export interface AgentService {
  get(id: string): Promise<AgentRun | undefined>;
  list(projectId: string): Promise<AgentRun[]>;
  start(input: { projectId: string; agent: string }): Promise<AgentRun>;
  updateStep(input: { runId: string; stepId: string; name: string; status: StepStatus }, access: Access): Promise<AgentRun>;
  appendMessage(input: { runId: string; role: MessageRole; content: string }, access: Access): Promise<AgentMessage>;
  complete(input: { runId: string; output?: string | null }, access: Access): Promise<AgentRun>;
  fail(input: { runId: string; error: string }, access: Access): Promise<AgentRun>;
}

export function createAgentService(
  dependencies: { store: StateStore; changes: ChangeApplier },
  now: () => Date = () => new Date(),
): AgentService {
  const { store, changes } = dependencies;

  /**
   * Applies `change` to an existing run that has not finished; `change` returns the next
   * state and the events after any implied run update.
   */
  function changeRun(
    runId: string,
    access: Access,
    action: string,
    change: (run: AgentRun, at: string) => { run: AgentRun; events: (run: AgentRun) => EventDraft[] },
  ): Promise<AgentRun> {
    return changes.apply('agentRun', runId, (current) => {
      if (!current) throw notFound('Agent run', runId);
      const run = current.value;
      access.assertWrite(run.projectId, 'Agent run', runId);
      if (FINAL_RUN_STATUSES.has(run.status)) {
        throw invalidTransition(`cannot ${action} agent run "${runId}": it is already ${run.status}`);
      }
      const at = now().toISOString();
      const next = change(run, at);
      return { projectId: run.projectId, value: next.run, events: next.events(next.run) };
    });
  }

  const runEvent = (type: 'AGENT_RUN_COMPLETED' | 'AGENT_RUN_FAILED', at: string) => (run: AgentRun): EventDraft[] => [
    { type, projectId: run.projectId, occurredAt: at, run },
  ];

  return {
    async get(id) {
      return (await store.get('agentRun', id))?.value;
    },
    list(projectId) {
      return store.list('agentRun', requireId('projectId', projectId));
    },
    start(input) {
      const projectId = requireId('projectId', input.projectId);
      const agent = requireText('agent', input.agent, 256);
      const id = randomUUID();
      return changes.apply('agentRun', id, () => {
        const at = now().toISOString();
        const run: AgentRun = {
          id,
          projectId,
          agent,
          status: 'PENDING',
          steps: [],
          messages: [],
          output: null,
          error: null,
          createdAt: at,
          updatedAt: at,
        };
        return { projectId, value: run, events: [{ type: 'AGENT_RUN_CREATED', projectId, occurredAt: at, run }] };
      });
    },
    updateStep(input, access) {
      const stepId = requireId('stepId', input.stepId);
      const name = requireText('name', input.name, 256);
      const { status } = input;
      return changeRun(input.runId, access, 'update a step of', (run, at) => {
        const index = run.steps.findIndex((step) => step.id === stepId);
        const previous = index === -1 ? undefined : run.steps[index]!;
        if (previous && FINAL_STEP_STATUSES.has(previous.status) && previous.status !== status) {
          throw invalidTransition(`step "${stepId}" is already ${previous.status} and cannot become ${status}`);
        }
        const step: AgentStep = {
          id: stepId,
          name,
          status,
          startedAt: previous?.startedAt ?? (status === 'PENDING' ? null : at),
          finishedAt: previous?.finishedAt ?? (FINAL_STEP_STATUSES.has(status) ? at : null),
        };
        const steps = index === -1 ? [...run.steps, step] : run.steps.with(index, step);
        const startsRun = run.status === 'PENDING';
        return {
          run: { ...run, status: startsRun ? 'RUNNING' : run.status, steps, updatedAt: at },
          events: (next) => {
            const events: EventDraft[] = [];
            if (startsRun) events.push({ type: 'AGENT_RUN_UPDATED', projectId: next.projectId, occurredAt: at, run: next });
            events.push({ type: 'AGENT_STEP_UPDATED', projectId: next.projectId, occurredAt: at, run: next, step });
            return events;
          },
        };
      });
    },
    async appendMessage(input, access) {
      const content = requireText('content', input.content, MAX_MESSAGE_LENGTH);
      let message: AgentMessage | undefined;
      await changeRun(input.runId, access, 'append a message to', (run, at) => {
        message = { id: randomUUID(), role: input.role, content, createdAt: at };
        const appended = message;
        return {
          run: { ...run, messages: [...run.messages, appended], updatedAt: at },
          events: (next) => [
            { type: 'AGENT_MESSAGE_APPENDED', projectId: next.projectId, occurredAt: at, run: next, message: appended },
          ],
        };
      });
      return message!;
    },
    complete(input, access) {
      const output = optionalText('output', input.output, MAX_MESSAGE_LENGTH);
      return changeRun(input.runId, access, 'complete', (run, at) => ({
        run: { ...run, status: 'COMPLETED', output, updatedAt: at },
        events: runEvent('AGENT_RUN_COMPLETED', at),
      }));
    },
    fail(input, access) {
      const error = requireText('error', input.error, 4096);
      return changeRun(input.runId, access, 'fail', (run, at) => ({
        run: { ...run, status: 'FAILED', error, updatedAt: at },
        events: runEvent('AGENT_RUN_FAILED', at),
      }));
    },
  };
}
