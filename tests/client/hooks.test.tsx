// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { useEffect } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createEventsClient } from '../../client/src/events-client.js';
import { useAgentRunStream } from '../../client/src/hooks/use-agent-run-stream.js';
import { useIngestJobStream } from '../../client/src/hooks/use-ingest-job-stream.js';
import { useWorkflowNodeStates } from '../../client/src/hooks/use-workflow-node-states.js';
import { EventsProvider, useConnectionStatus } from '../../client/src/provider.js';
import { mutate } from '../support/clients.js';
import {
  APPEND_CONTENT,
  APPEND_MESSAGE,
  COMPLETE_JOB,
  CREATE_JOB,
  FINISH_MESSAGE,
  START_MESSAGE,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  UPDATE_STEP,
} from '../support/operations.js';
import { freePort, spawnServer } from '../support/processes.js';
import { REDIS_URL, channelSubscribers, redisForTests } from '../support/redis.js';
import { createServingPair } from '../support/serving-pair.js';
import { waitFor } from '../support/wait-for.js';

const { prefix, redis } = redisForTests('hooks');
const servers = createServingPair(prefix);
/** Every events client a test made: disposed after each test, so a failed one leaves no client retrying. */
const eventsClients: Array<{ dispose(): void }> = [];
afterEach(() => {
  cleanup();
  for (const client of eventsClients.splice(0)) client.dispose();
});

function mount(ui: React.ReactElement) {
  const events = createEventsClient({ url: servers.url, webSocketImpl: WebSocket, retryDelayMs: 20, maxRetryDelayMs: 200 });
  eventsClients.push(events);
  const view = render(<EventsProvider value={events}>{ui}</EventsProvider>);
  return {
    ...view,
    unmount() {
      view.unmount();
      events.dispose();
    },
  };
}

const text = (testId: string) => screen.getByTestId(testId).textContent;
const until = (testId: string, expected: string, timeoutMs = 10_000) =>
  waitFor(() => screen.queryByTestId(testId)?.textContent === expected, {
    timeoutMs,
    what: `${testId} to read "${expected}" (reads "${screen.queryByTestId(testId)?.textContent}")`,
  });

function Jobs({ projectId, jobId }: { projectId: string; jobId?: string }) {
  const { jobs, job, status } = useIngestJobStream(projectId, { jobId });
  const connection = useConnectionStatus();
  return (
    <div>
      <span data-testid="status">{status}</span>
      <span data-testid="connection">{connection}</span>
      <span data-testid="jobs">{jobs.map((entry) => `${entry.source}=${entry.progress}/${entry.status}`).join(' ')}</span>
      <span data-testid="job">{job?.source ?? '-'}</span>
    </div>
  );
}

function Run({ projectId, runId }: { projectId: string; runId: string }) {
  const { run, status } = useAgentRunStream(projectId, runId);
  return (
    <div>
      <span data-testid="status">{status}</span>
      <span data-testid="run">{run ? `${run.status} steps=${run.steps.map((step) => `${step.id}:${step.status}`).join(',')}` : '-'}</span>
      <span data-testid="messages">{run?.messages.map((message) => message.content).join('|')}</span>
    </div>
  );
}

/** One message of a run as `status:content`, and every distinct text the hook showed for it. */
function StreamedMessage({ projectId, runId, index, shown }: { projectId: string; runId: string; index: number; shown: string[] }) {
  const { run, status } = useAgentRunStream(projectId, runId);
  const message = run?.messages.find((entry) => entry.index === index);
  useEffect(() => {
    if (message && shown.at(-1) !== message.content) shown.push(message.content);
  });
  return (
    <div>
      <span data-testid="status">{status}</span>
      <span data-testid="message">{message ? `${message.status}:${message.content}` : '-'}</span>
      <span data-testid="steps">{run?.steps.map((step) => `${step.id}:${step.status}`).join(',')}</span>
    </div>
  );
}

function Nodes({ projectId, runId }: { projectId: string; runId: string }) {
  const { nodes, status } = useWorkflowNodeStates(projectId, runId);
  return (
    <div>
      <span data-testid="status">{status}</span>
      <span data-testid="nodes">{nodes.map((node) => `${node.nodeId}:${node.status}`).join(' ')}</span>
    </div>
  );
}

describe('stream hooks', () => {
  it('useIngestJobStream merges the snapshot with live progress, one entry per job, in order', async () => {
    const projectId = 'hook-jobs';
    const first = (await mutate(servers.publisherUrl, CREATE_JOB, { projectId, source: 'first' })).createIngestJob;
    await mutate(servers.publisherUrl, UPDATE_PROGRESS, { id: first.id, progress: 0.25 });
    const view = mount(<Jobs projectId={projectId} />);
    await until('status', 'live');
    await until('jobs', 'first=0.25/RUNNING');
    const second = (await mutate(servers.publisherUrl, CREATE_JOB, { projectId, source: 'second' })).createIngestJob;
    for (const progress of [0.5, 0.75]) await mutate(servers.publisherUrl, UPDATE_PROGRESS, { id: first.id, progress });
    await mutate(servers.publisherUrl, UPDATE_PROGRESS, { id: second.id, progress: 0.1 });
    await mutate(servers.publisherUrl, COMPLETE_JOB, { id: first.id });
    await until('jobs', 'first=1/COMPLETED second=0.1/RUNNING');
    view.unmount();
  });

  it('useIngestJobStream with a jobId shows that job only', async () => {
    const projectId = 'hook-one-job';
    const wanted = (await mutate(servers.publisherUrl, CREATE_JOB, { projectId, source: 'wanted' })).createIngestJob;
    const other = (await mutate(servers.publisherUrl, CREATE_JOB, { projectId, source: 'other' })).createIngestJob;
    const view = mount(<Jobs projectId={projectId} jobId={wanted.id} />);
    await until('status', 'live');
    await mutate(servers.publisherUrl, UPDATE_PROGRESS, { id: other.id, progress: 0.9 });
    await mutate(servers.publisherUrl, UPDATE_PROGRESS, { id: wanted.id, progress: 0.4 });
    await until('jobs', 'wanted=0.4/RUNNING');
    expect(text('job')).toBe('wanted');
    view.unmount();
  });

  it('useAgentRunStream keeps steps and messages in the order they happened', async () => {
    const projectId = 'hook-agent';
    const run = (await mutate(servers.publisherUrl, START_RUN, { projectId, agent: 'a' })).startAgentRun;
    const view = mount(<Run projectId={projectId} runId={run.id} />);
    await until('status', 'live');
    await mutate(servers.publisherUrl, UPDATE_STEP, { runId: run.id, stepId: 'plan', name: 'Plan', status: 'RUNNING' });
    for (const content of ['one', 'two', 'three']) await mutate(servers.publisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content });
    await mutate(servers.publisherUrl, UPDATE_STEP, { runId: run.id, stepId: 'plan', name: 'Plan', status: 'COMPLETED' });
    await until('messages', 'one|two|three');
    await until('run', 'RUNNING steps=plan:COMPLETED');
    view.unmount();
  });

  it('useAgentRunStream shows a streamed message growing delta by delta until it is COMPLETE', async () => {
    const projectId = 'hook-streamed';
    const run = (await mutate(servers.publisherUrl, START_RUN, { projectId, agent: 'writer' })).startAgentRun;
    await mutate(servers.publisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'Why did order sync slow down?' });
    const shown: string[] = [];
    const view = mount(<StreamedMessage projectId={projectId} runId={run.id} index={1} shown={shown} />);
    await until('status', 'live');
    const message = (await mutate(servers.publisherUrl, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
    await until('message', 'STREAMING:');
    // One token at a time, each shown before the next is written: every length appears.
    let whole = '';
    for (const text of ['The', ' ingest', ' queue', ' backed', ' up']) {
      await mutate(servers.publisherUrl, APPEND_CONTENT, { runId: run.id, messageId: message.id, text });
      whole += text;
      await until('message', `STREAMING:${whole}`);
    }
    // Then faster than the batching window: several tokens arrive as one delta.
    for (const text of [' at', ' 09:14', ' —', ' a', ' lock', ' on', ' orders', ' 🙂.']) {
      await mutate(servers.publisherUrl, APPEND_CONTENT, { runId: run.id, messageId: message.id, text });
      whole += text;
    }
    await mutate(servers.publisherUrl, FINISH_MESSAGE, { runId: run.id, messageId: message.id });
    await until('message', `COMPLETE:${whole}`);
    expect(shown.slice(0, 6)).toEqual(['', 'The', 'The ingest', 'The ingest queue', 'The ingest queue backed', 'The ingest queue backed up']);
    // Only ever longer, and always the start of the whole text.
    shown.forEach((content, position) => {
      expect(whole.startsWith(content)).toBe(true);
      if (position > 0) expect(content.length).toBeGreaterThan(shown[position - 1]!.length);
    });
    view.unmount();
  });

  it('useAgentRunStream loads the snapshot again when a delta went missing, and never shows text with a hole', async () => {
    const projectId = 'hook-missed-delta';
    const run = (await mutate(servers.publisherUrl, START_RUN, { projectId, agent: 'writer' })).startAgentRun;
    // A frame lost between server and hook, which the protocol cannot notice: the socket drops
    // the next AGENT_MESSAGE_DELTA it receives once asked to.
    let dropNextDelta = false;
    let dropped = 0;
    class LossyWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        const handler = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage')!;
        Object.defineProperty(this, 'onmessage', {
          get: () => handler.get!.call(this),
          set: (listener: ((event: WebSocket.MessageEvent) => void) | null) =>
            handler.set!.call(this, listener && ((event: WebSocket.MessageEvent) => {
              if (dropNextDelta && String(event.data).includes('"AGENT_MESSAGE_DELTA"')) {
                dropNextDelta = false;
                dropped++;
                return;
              }
              listener(event);
            })),
        });
      }
    }
    let snapshotLoads = 0;
    const countingFetch: typeof fetch = (input, init) => {
      if (typeof init?.body === 'string' && init.body.includes('query ProjectSnapshot')) snapshotLoads++;
      return fetch(input, init);
    };
    const events = createEventsClient({ url: servers.url, webSocketImpl: LossyWebSocket, fetch: countingFetch, retryDelayMs: 20, maxRetryDelayMs: 200 });
    eventsClients.push(events);
    const shown: string[] = [];
    const view = render(
      <EventsProvider value={events}>
        <StreamedMessage projectId={projectId} runId={run.id} index={0} shown={shown} />
      </EventsProvider>,
    );
    try {
      await until('status', 'live');
      const message = (await mutate(servers.publisherUrl, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
      const append = (text: string) => mutate(servers.publisherUrl, APPEND_CONTENT, { runId: run.id, messageId: message.id, text });
      await append('one');
      await until('message', 'STREAMING:one');
      dropNextDelta = true;
      await append(' two');
      await waitFor(() => dropped === 1, { what: 'the delta " two" to be dropped' });
      expect(text('message')).toBe('STREAMING:one');
      // The next delta starts past the text held: the hook does not apply it, and reloads.
      // Changes go on meanwhile; each must arrive once, from the snapshot or after it.
      await append(' three');
      await mutate(servers.publisherUrl, UPDATE_STEP, { runId: run.id, stepId: 'plan', name: 'Plan', status: 'RUNNING' });
      await append(' four');
      await mutate(servers.publisherUrl, UPDATE_STEP, { runId: run.id, stepId: 'plan', name: 'Plan', status: 'COMPLETED' });
      await mutate(servers.publisherUrl, UPDATE_STEP, { runId: run.id, stepId: 'answer', name: 'Answer', status: 'RUNNING' });
      await append(' five');
      await until('message', 'STREAMING:one two three four five');
      await until('steps', 'plan:COMPLETED,answer:RUNNING');
      await mutate(servers.publisherUrl, FINISH_MESSAGE, { runId: run.id, messageId: message.id });
      await until('message', 'COMPLETE:one two three four five');
      expect(shown.slice(0, 2)).toEqual(['', 'one']);
      expect(shown[2]).toMatch(/^one two three/);
      expect(shown.every((content) => 'one two three four five'.startsWith(content))).toBe(true);
      expect(snapshotLoads).toBe(2);
      await until('status', 'live');
    } finally {
      view.unmount();
      events.dispose();
    }
  });

  it('useWorkflowNodeStates shows each node’s state', async () => {
    const projectId = 'hook-workflow';
    const flow = (await mutate(servers.publisherUrl, START_WORKFLOW, { projectId, workflowId: 'w', nodeIds: ['a', 'b'] })).startWorkflowRun;
    const view = mount(<Nodes projectId={projectId} runId={flow.id} />);
    await until('nodes', 'a:PENDING b:PENDING');
    await mutate(servers.publisherUrl, UPDATE_NODE, { runId: flow.id, nodeId: 'a', status: 'SUCCEEDED' });
    await mutate(servers.publisherUrl, UPDATE_NODE, { runId: flow.id, nodeId: 'b', status: 'RUNNING' });
    await until('nodes', 'a:SUCCEEDED b:RUNNING');
    view.unmount();
  });

  it('reconnects through a server restart and shows what happened meanwhile', async () => {
    const projectId = 'hook-restart';
    const run = (await mutate(servers.publisherUrl, START_RUN, { projectId, agent: 'a' })).startAgentRun;
    const view = mount(<Run projectId={projectId} runId={run.id} />);
    await until('status', 'live');
    await mutate(servers.publisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'before' });
    await until('messages', 'before');
    await servers.killServing();
    await until('status', 'reconnecting');
    await mutate(servers.publisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'during' });
    await servers.startServing();
    await until('status', 'live');
    await mutate(servers.publisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'after' });
    await until('messages', 'before|during|after');
    view.unmount();
  });

  it('keeps asking for the snapshot while the server is unreachable, then goes live once it is back', async () => {
    const env = { PORT: String(await freePort()), REDIS_URL, REDIS_KEY_PREFIX: prefix };
    const projectId = 'hook-unreachable';
    await mutate(servers.publisherUrl, CREATE_JOB, { projectId, source: 'waiting' });
    const events = createEventsClient({ url: `http://127.0.0.1:${env.PORT}/graphql`, webSocketImpl: WebSocket, retryDelayMs: 20, maxRetryDelayMs: 200 });
    eventsClients.push(events);
    const view = render(
      <EventsProvider value={events}>
        <Jobs projectId={projectId} />
      </EventsProvider>,
    );
    // Nothing listens on the port yet: the hook says it is trying again, not that it failed,
    // and the provider's status says the same.
    await until('status', 'reconnecting');
    await until('connection', 'reconnecting');
    const late = spawnServer(env);
    servers.adopt(late);
    await late.listening;
    await until('status', 'live');
    await until('connection', 'live');
    await until('jobs', 'waiting=0/PENDING');
    view.unmount();
  });

  it('loads the snapshot again when the log no longer holds what it missed, and merges on from there', async () => {
    // Servers that keep two events per project: what happens while the hook is away is gone.
    const env = { PORT: String(await freePort()), REDIS_URL, REDIS_KEY_PREFIX: prefix, EVENT_LOG_MAX_EVENTS: '2' };
    let shortServing = servers.adopt(spawnServer(env));
    const shortPublisher = servers.adopt(spawnServer({ REDIS_URL, REDIS_KEY_PREFIX: prefix, EVENT_LOG_MAX_EVENTS: '2' }));
    const [shortUrl, shortPublisherUrl] = await Promise.all([shortServing.listening, shortPublisher.listening]);
    const projectId = 'hook-expired';
    const run = (await mutate(shortPublisherUrl, START_RUN, { projectId, agent: 'a' })).startAgentRun;
    const events = createEventsClient({ url: shortUrl, webSocketImpl: WebSocket, retryDelayMs: 20, maxRetryDelayMs: 200 });
    eventsClients.push(events);
    const view = render(
      <EventsProvider value={events}>
        <Run projectId={projectId} runId={run.id} />
      </EventsProvider>,
    );
    try {
      await until('status', 'live');
      await mutate(shortPublisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'seen' });
      await until('messages', 'seen');
      shortServing.child.kill('SIGKILL');
      await shortServing.exited;
      await mutate(shortPublisherUrl, UPDATE_STEP, { runId: run.id, stepId: 'plan', name: 'Plan', status: 'RUNNING' });
      for (const content of ['missed-1', 'missed-2', 'missed-3']) {
        await mutate(shortPublisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content });
      }
      shortServing = spawnServer(env);
      servers.adopt(shortServing);
      await shortServing.listening;
      await until('messages', 'seen|missed-1|missed-2|missed-3');
      await until('run', 'RUNNING steps=plan:RUNNING');
      await until('status', 'live');
      await mutate(shortPublisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content: 'after' });
      await mutate(shortPublisherUrl, UPDATE_STEP, { runId: run.id, stepId: 'plan', name: 'Plan', status: 'COMPLETED' });
      await until('messages', 'seen|missed-1|missed-2|missed-3|after');
      await until('run', 'RUNNING steps=plan:COMPLETED');
    } finally {
      view.unmount();
      events.dispose();
    }
  });

  it('releases the server-side subscription when the component unmounts', async () => {
    const projectId = 'hook-unmount';
    const channel = `${prefix}events:${projectId}`;
    const view = mount(<Jobs projectId={projectId} />);
    await until('status', 'live');
    await waitFor(async () => (await channelSubscribers(redis, prefix))[channel] === 1, { what: 'the Redis subscription' });
    view.unmount();
    await waitFor(async () => ((await channelSubscribers(redis, prefix))[channel] ?? 0) === 0, { what: 'NUMSUB 0' });
  });
});
