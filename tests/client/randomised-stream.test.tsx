// @vitest-environment happy-dom
import { cleanup, render } from '@testing-library/react';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { isDeepStrictEqual } from 'node:util';
import { useEffect } from 'react';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import WebSocket from 'ws';
import type { ConnectionStatus } from '../../client/src/connection-status.js';
import { createEventsClient } from '../../client/src/events-client.js';
import type { AgentRun } from '../../client/src/hooks/use-agent-run-stream.js';
import { useAgentRunStream } from '../../client/src/hooks/use-agent-run-stream.js';
import type { IngestJob } from '../../client/src/hooks/use-ingest-job-stream.js';
import { useIngestJobStream } from '../../client/src/hooks/use-ingest-job-stream.js';
import type { WorkflowRun } from '../../client/src/hooks/use-workflow-node-states.js';
import { useWorkflowNodeStates } from '../../client/src/hooks/use-workflow-node-states.js';
import { AgentRunFields, IngestJobFields, WorkflowRunFields } from '../../client/src/operations.js';
import { EventsProvider } from '../../client/src/provider.js';
import { mutate, request } from '../support/clients.js';
import {
  APPEND_MESSAGE,
  COMPLETE_JOB,
  COMPLETE_RUN,
  CREATE_JOB,
  FAIL_JOB,
  FAIL_RUN,
  FINISH_WORKFLOW,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  UPDATE_STEP,
} from '../support/operations.js';
import { redisForTests } from '../support/redis.js';
import { createServingPair } from '../support/serving-pair.js';
import { waitFor } from '../support/wait-for.js';
import { createRandom } from '../support/random.js';

/**
 * The issue's test: a random mix of every kind of change, with the hooks' server killed and
 * restarted in the middle, must leave each hook holding exactly what the queries answer.
 * `STREAM_SEED=<n>` replays a failing sequence.
 */

const { prefix } = redisForTests('random-stream');
const servers = createServingPair(prefix);
/** Every events client a test made: disposed after each test, so a failed one leaves no client retrying. */
const eventsClients: Array<{ dispose(): void }> = [];
afterEach(() => {
  cleanup();
  for (const client of eventsClients.splice(0)) client.dispose();
});


/** What a hook's consumer sees, captured after each commit. */
interface Seen {
  jobs: IngestJob[];
  runs: AgentRun[];
  workflows: WorkflowRun[];
  statuses: ConnectionStatus[];
}

const MESSAGE_LIMIT = 4;

function Probe({ projectId, onChange }: { projectId: string; onChange(seen: Seen): void }) {
  const ingest = useIngestJobStream(projectId);
  const agents = useAgentRunStream(projectId, undefined, { messageLimit: MESSAGE_LIMIT });
  const workflows = useWorkflowNodeStates(projectId);
  useEffect(() => {
    onChange({
      jobs: ingest.jobs,
      runs: agents.runs,
      workflows: workflows.runs,
      statuses: [ingest.status, agents.status, workflows.status],
    });
  });
  return null;
}

/** A query selecting `fragment` on `field(id:)`, the same fields the hooks hold. */
function queryOf(field: string, fragment: TypedDocumentNode, fragmentName: string, extraVariables = '') {
  return `query ($id: ID!${extraVariables}) { ${field}(id: $id) { ...${fragmentName} } }\n${print(fragment)}`;
}
const JOB_QUERY = queryOf('ingestJob', IngestJobFields, 'IngestJobFields');
const RUN_QUERY = queryOf('agentRun', AgentRunFields, 'AgentRunFields', ', $messageLimit: Int');
const WORKFLOW_QUERY = queryOf('workflowRun', WorkflowRunFields, 'WorkflowRunFields');

async function queried<T>(query: string, field: string, id: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await request(servers.publisherUrl, query, { id, ...variables });
  if (result.errors?.length || !result.data?.[field]) throw new Error(`${field}(${id}): ${JSON.stringify(result.errors)}`);
  return result.data[field] as T;
}

const byId = <T extends { id: string }>(entities: readonly T[]) => Object.fromEntries(entities.map((entity) => [entity.id, entity]));

type StepStatus = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'SKIPPED';
type NodeStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
const FINAL = new Set<string>(['COMPLETED', 'FAILED', 'SKIPPED', 'SUCCEEDED']);

/**
 * What the test has made so far, enough to choose a next change the server accepts: a
 * refused mutation changes nothing and would only waste a move.
 */
function createWorld(random: ReturnType<typeof createRandom>, projectId: string) {
  const jobs: Array<{ id: string; open: boolean }> = [];
  const runs: Array<{ id: string; open: boolean; steps: Map<string, StepStatus> }> = [];
  const workflows: Array<{ id: string; open: boolean; nodes: Map<string, NodeStatus> }> = [];
  let counter = 0;
  const open = <T extends { open: boolean }>(items: T[]) => items.filter((item) => item.open);

  type Move = { weight: number; run(): Promise<unknown> };
  const moves = (): Move[] => {
    const openJobs = open(jobs);
    const openRuns = open(runs);
    const openWorkflows = open(workflows);
    const list: Move[] = [
      {
        weight: openJobs.length < 3 ? 2 : 0.3,
        run: async () => {
          const job = (await mutate(servers.publisherUrl, CREATE_JOB, { projectId, source: `s3://in/${counter++}`, totalItems: 100 }))
            .createIngestJob;
          jobs.push({ id: job.id, open: true });
        },
      },
      {
        weight: openRuns.length < 3 ? 2 : 0.3,
        run: async () => {
          const run = (await mutate(servers.publisherUrl, START_RUN, { projectId, agent: `agent-${counter++}` })).startAgentRun;
          runs.push({ id: run.id, open: true, steps: new Map() });
        },
      },
      {
        weight: openWorkflows.length < 2 ? 1.5 : 0.2,
        run: async () => {
          const nodeIds = ['extract', 'transform', 'load', 'report'].slice(0, 2 + random.below(3));
          const flow = (await mutate(servers.publisherUrl, START_WORKFLOW, { projectId, workflowId: `flow-${counter++}`, nodeIds }))
            .startWorkflowRun;
          workflows.push({ id: flow.id, open: true, nodes: new Map(nodeIds.map((nodeId) => [nodeId, 'PENDING'])) });
        },
      },
    ];
    if (openJobs.length) {
      const job = random.pick(openJobs);
      const progress = Math.round(random.next() * 100) / 100;
      list.push(
        { weight: 4, run: () => mutate(servers.publisherUrl, UPDATE_PROGRESS, { id: job.id, progress, processedItems: Math.round(progress * 100), message: `at ${progress}` }) },
        { weight: 0.6, run: async () => ((job.open = false), await mutate(servers.publisherUrl, COMPLETE_JOB, { id: job.id })) },
        { weight: 0.3, run: async () => ((job.open = false), await mutate(servers.publisherUrl, FAIL_JOB, { id: job.id, error: 'source went away' })) },
      );
    }
    if (openRuns.length) {
      const run = random.pick(openRuns);
      const changeable = [...run.steps].filter(([, status]) => !FINAL.has(status)).map(([id]) => id);
      const stepId = changeable.length && random.next() < 0.6 ? random.pick(changeable) : `step-${run.steps.size}`;
      const status = random.pick<StepStatus>(['PENDING', 'RUNNING', 'RUNNING', 'COMPLETED', 'FAILED', 'SKIPPED']);
      list.push(
        {
          weight: 3,
          run: async () => {
            run.steps.set(stepId, status);
            await mutate(servers.publisherUrl, UPDATE_STEP, { runId: run.id, stepId, name: `Step ${stepId}`, status });
          },
        },
        {
          weight: 4,
          run: () => mutate(servers.publisherUrl, APPEND_MESSAGE, { runId: run.id, role: random.pick(['USER', 'ASSISTANT', 'TOOL']), content: `said ${counter++}` }),
        },
        { weight: 0.4, run: async () => ((run.open = false), await mutate(servers.publisherUrl, COMPLETE_RUN, { runId: run.id, output: 'done' })) },
        { weight: 0.2, run: async () => ((run.open = false), await mutate(servers.publisherUrl, FAIL_RUN, { runId: run.id, error: 'model unavailable' })) },
      );
    }
    if (openWorkflows.length) {
      const flow = random.pick(openWorkflows);
      const changeable = [...flow.nodes].filter(([, status]) => !FINAL.has(status)).map(([id]) => id);
      if (changeable.length) {
        const nodeId = random.pick(changeable);
        const status = random.pick<NodeStatus>(['RUNNING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED']);
        list.push({
          weight: 3,
          run: async () => {
            flow.nodes.set(nodeId, status);
            await mutate(servers.publisherUrl, UPDATE_NODE, { runId: flow.id, nodeId, status, output: status === 'SUCCEEDED' ? `${nodeId} ok` : null });
          },
        });
      }
      list.push({
        weight: changeable.length ? 0.3 : 2,
        run: async () => {
          flow.open = false;
          await mutate(servers.publisherUrl, FINISH_WORKFLOW, { runId: flow.id, status: random.pick(['SUCCEEDED', 'FAILED', 'CANCELLED']) });
        },
      });
    }
    return list;
  };

  return {
    jobs,
    runs,
    workflows,
    /** Makes one change, chosen at random among the ones the server accepts now. */
    async step() {
      const list = moves();
      let roll = random.next() * list.reduce((sum, move) => sum + move.weight, 0);
      for (const move of list) {
        roll -= move.weight;
        if (roll <= 0) return move.run();
      }
      return list.at(-1)!.run();
    },
  };
}

describe('hooks under a random sequence of changes, disconnects and resumes', () => {
  it('end up holding exactly what the queries answer', async () => {
    const seed = Number(process.env.STREAM_SEED ?? Math.floor(Math.random() * 2 ** 31));
    onTestFailed(() => console.error(`randomised stream test failed with STREAM_SEED=${seed}`));
    const random = createRandom(seed);
    const projectId = `random-${seed}`;
    const world = createWorld(random, projectId);
    const TOTAL = 160;
    const BEFORE_MOUNT = 25;
    // Two restarts at random points after the mount, the second after the first's resume.
    const restartAt = new Set([BEFORE_MOUNT + 20 + random.below(40), BEFORE_MOUNT + 75 + random.below(40)]);

    for (let move = 0; move < BEFORE_MOUNT; move++) await world.step();

    let seen: Seen = { jobs: [], runs: [], workflows: [], statuses: [] };
    const events = createEventsClient({ url: servers.url, webSocketImpl: WebSocket, retryDelayMs: 20, maxRetryDelayMs: 200 });
    eventsClients.push(events);
    const view = render(
      <EventsProvider value={events}>
        <Probe projectId={projectId} onChange={(next) => (seen = next)} />
      </EventsProvider>,
    );
    const allLive = () => seen.statuses.length === 3 && seen.statuses.every((status) => status === 'live');
    try {
      // No waiting for the hooks here: changes made while the snapshot loads are what the
      // snapshot may read twice (its collections), and the merge must absorb that.
      for (let move = BEFORE_MOUNT; move < TOTAL; move++) {
        if (restartAt.has(move)) {
          await waitFor(allLive, { what: `the hooks to be live before restart at move ${move} (${seen.statuses})` });
          await servers.killServing();
          // Changes while the hooks' server is down arrive through the replay after resume.
          for (let down = 1 + random.below(8); down > 0; down--) await world.step();
          await servers.startServing();
        }
        await world.step();
      }

      const expected = {
        jobs: byId(await Promise.all(world.jobs.map(({ id }) => queried<IngestJob>(JOB_QUERY, 'ingestJob', id)))),
        runs: byId(
          await Promise.all(
            world.runs.map(({ id }) => queried<AgentRun>(RUN_QUERY, 'agentRun', id, { messageLimit: MESSAGE_LIMIT })),
          ),
        ),
        workflows: byId(await Promise.all(world.workflows.map(({ id }) => queried<WorkflowRun>(WORKFLOW_QUERY, 'workflowRun', id)))),
      };
      const actual = () => ({ jobs: byId(seen.jobs), runs: byId(seen.runs), workflows: byId(seen.workflows) });
      await waitFor(() => allLive() && isDeepStrictEqual(actual(), expected), {
        timeoutMs: 8000,
        what: 'the hooks to hold what the queries answer',
      }).catch(() => {});
      expect(seen.statuses).toEqual(['live', 'live', 'live']);
      expect(actual()).toEqual(expected);
      // The sequence made every kind of change the hooks merge.
      expect(Object.values(expected.runs).some((run) => run.messageCount > MESSAGE_LIMIT)).toBe(true);
      expect(Object.values(expected.runs).some((run) => run.steps.length > 1)).toBe(true);
      expect(Object.values(expected.workflows).some((run) => run.status !== 'RUNNING')).toBe(true);
    } finally {
      view.unmount();
      events.dispose();
    }
  }, 30_000);
});
