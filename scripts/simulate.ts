/**
 * Drives realistic work against a running server so its streams have something to show:
 * ingest jobs that report progress, agent runs that step and talk (assistant answers are
 * streamed token by token, as a model writes them), workflows whose nodes run one after
 * another. Stops on Ctrl-C, or after SIMULATE_DURATION_MS.
 *
 *   npm run simulate                       # http://127.0.0.1:4000/graphql, project "demo"
 *   npm run simulate -- http://host:4000/graphql my-project
 */
import { setTimeout as sleep } from 'node:timers/promises';

const url = process.argv[2] ?? process.env.SIMULATE_URL ?? 'http://127.0.0.1:4000/graphql';
const projectId = process.argv[3] ?? process.env.SIMULATE_PROJECT ?? 'demo';
const durationMs = Number(process.env.SIMULATE_DURATION_MS ?? Infinity);
/** Pause between steps of one piece of work. */
const tickMs = Number(process.env.SIMULATE_TICK_MS ?? 400);

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
if (Number.isFinite(durationMs)) setTimeout(() => stop.abort(), durationMs).unref();

/** The server did not answer at all (nothing listens, wrong host): said once, not per failed call. */
class Unreachable extends Error {}
let reportedUnreachable = false;

async function call<T = any>(query: string, variables: Record<string, unknown>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new Unreachable(`no server answers at ${url}${cause ? ` (${cause})` : ''}: start one with \`npm start\`, or pass its URL: npm run simulate -- <url>`);
  }
  if (reportedUnreachable) {
    reportedUnreachable = false;
    console.log(`the server at ${url} answers again`);
  }
  const result = (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (result.errors?.length) throw new Error(result.errors.map((error) => error.message).join('; '));
  return result.data!;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const pause = (factor = 1) => sleep(tickMs * factor * (0.5 + Math.random()), undefined, { signal: stop.signal });
/**
 * Between two tokens of a streamed answer: 20-80 ms at the default tick, about a model's
 * pace; a shorter tick (a test's) shortens it in proportion.
 */
const tokenPause = () => sleep(((20 + Math.random() * 60) * Math.min(tickMs, 400)) / 400, undefined, { signal: stop.signal });

/** What a user asks a simulated agent, and the answer it streams back, one pair per run. */
const CONVERSATIONS = [
  {
    agent: 'support-triage',
    question: 'Why did order sync slow down?',
    answer:
      'The order sync slowed down at 09:14 because a long-running transaction held a lock on the orders table. Once it committed, throughput recovered within two minutes.',
  },
  {
    agent: 'researcher',
    question: 'Summarise yesterday’s failed ingests',
    answer:
      'Yesterday three ingests failed: two timed out reading s3://raw/events and one was rejected for a malformed header. Retrying the timeouts should be enough; the header needs a fix upstream.',
  },
  {
    agent: 'code-reviewer',
    question: 'Review PR #42',
    answer:
      'The PR looks good overall. Two suggestions: close the Redis client in the error path, and add a test for an empty batch — right now it would divide by zero.',
  },
  {
    agent: 'support-triage',
    question: 'Have we seen this latency spike before?',
    answer:
      'I found 3 matching incidents in the last week. All of them started after a deploy and ended when the cache warmed up, so this looks like a cold-start effect rather than a regression.',
  },
] as const;

/** Splits text the way a model's tokens come: words with their leading space, and punctuation. */
const tokensOf = (text: string) => text.match(/\s*[\w'’-]+|\s*[^\w\s]/g) ?? [text];

async function ingestJob(): Promise<void> {
  const totalItems = 50 + Math.floor(Math.random() * 450);
  const source = pick(['s3://raw/events', 'gs://exports/crm', 'postgres://warehouse/orders', 'https://api.example.com/feed']);
  const { createIngestJob: job } = await call(
    `mutation ($projectId: ID!, $source: String!, $totalItems: Int) {
      createIngestJob(projectId: $projectId, source: $source, totalItems: $totalItems) { id }
    }`,
    { projectId, source, totalItems },
  );
  let processed = 0;
  while (processed < totalItems) {
    await pause();
    processed = Math.min(totalItems, processed + Math.ceil(totalItems / (5 + Math.random() * 10)));
    await call(
      `mutation ($id: ID!, $progress: Float!, $processedItems: Int, $message: String) {
        updateIngestJobProgress(id: $id, progress: $progress, processedItems: $processedItems, message: $message) { id }
      }`,
      { id: job.id, progress: processed / totalItems, processedItems: processed, message: `read ${processed} of ${totalItems}` },
    );
    if (Math.random() < 0.03) {
      await call(`mutation ($id: ID!, $error: String!) { failIngestJob(id: $id, error: $error) { id } }`, {
        id: job.id,
        error: 'source closed the connection',
      });
      return;
    }
  }
  await call(`mutation ($id: ID!) { completeIngestJob(id: $id) { id } }`, { id: job.id });
}

async function agentRun(): Promise<void> {
  const conversation = pick(CONVERSATIONS);
  const { startAgentRun: run } = await call(
    `mutation ($projectId: ID!, $agent: String!) { startAgentRun(projectId: $projectId, agent: $agent) { id } }`,
    { projectId, agent: conversation.agent },
  );
  const step = (stepId: string, name: string, status: string) =>
    call(
      `mutation ($runId: ID!, $stepId: ID!, $name: String!, $status: StepStatus!) {
        updateAgentStep(runId: $runId, stepId: $stepId, name: $name, status: $status) { id }
      }`,
      { runId: run.id, stepId, name, status },
    );
  const say = (role: string, content: string) =>
    call(
      `mutation ($runId: ID!, $role: MessageRole!, $content: String!) {
        appendAgentMessage(runId: $runId, role: $role, content: $content) { id }
      }`,
      { runId: run.id, role, content },
    );
  /** An assistant answer written as it is generated: started empty, a token at a time, finished. */
  const stream = async (text: string) => {
    const { startAgentMessage: message } = await call(
      `mutation ($runId: ID!, $role: MessageRole!) { startAgentMessage(runId: $runId, role: $role) { id } }`,
      { runId: run.id, role: 'ASSISTANT' },
    );
    for (const token of tokensOf(text)) {
      await tokenPause();
      await call(
        `mutation ($runId: ID!, $messageId: ID!, $text: String!) {
          appendAgentMessageContent(runId: $runId, messageId: $messageId, text: $text) { id }
        }`,
        { runId: run.id, messageId: message.id, text: token },
      );
    }
    await call(`mutation ($runId: ID!, $messageId: ID!) { finishAgentMessage(runId: $runId, messageId: $messageId) { id } }`, {
      runId: run.id,
      messageId: message.id,
    });
  };
  await say('USER', conversation.question);
  for (const [stepId, name] of [
    ['plan', 'Plan'],
    ['search', 'Search'],
    ['answer', 'Answer'],
  ] as const) {
    await pause();
    await step(stepId, name, 'RUNNING');
    await pause();
    if (stepId === 'answer') await stream(conversation.answer);
    else await say(stepId === 'search' ? 'TOOL' : 'ASSISTANT', `${name}: ${pick(['looking at logs', 'found 3 matches', 'drafting'])}`);
    await step(stepId, name, 'COMPLETED');
  }
  await call(`mutation ($runId: ID!, $output: String) { completeAgentRun(runId: $runId, output: $output) { id } }`, {
    runId: run.id,
    output: 'Done: see the messages above.',
  });
}

async function workflowRun(): Promise<void> {
  const nodeIds = ['extract', 'transform', 'validate', 'load'];
  const { startWorkflowRun: run } = await call(
    `mutation ($projectId: ID!, $workflowId: String!, $nodeIds: [ID!]!) {
      startWorkflowRun(projectId: $projectId, workflowId: $workflowId, nodeIds: $nodeIds) { id }
    }`,
    { projectId, workflowId: pick(['nightly-etl', 'embeddings-refresh']), nodeIds },
  );
  const node = (nodeId: string, status: string, output?: string) =>
    call(
      `mutation ($runId: ID!, $nodeId: ID!, $status: NodeStatus!, $output: String) {
        updateWorkflowNodeState(runId: $runId, nodeId: $nodeId, status: $status, output: $output) { id }
      }`,
      { runId: run.id, nodeId, status, output },
    );
  for (const nodeId of nodeIds) {
    await pause();
    await node(nodeId, 'RUNNING');
    await pause(2);
    await node(nodeId, 'SUCCEEDED', `${Math.floor(Math.random() * 10_000)} rows`);
  }
  await call(`mutation ($runId: ID!, $status: WorkflowRunStatus!) { finishWorkflowRun(runId: $runId, status: $status) { id } }`, {
    runId: run.id,
    status: 'SUCCEEDED',
  });
}

/** Keeps `work` running back to back until stopped. */
async function loop(name: string, work: () => Promise<void>): Promise<void> {
  while (!stop.signal.aborted) {
    try {
      await work();
    } catch (error) {
      if (stop.signal.aborted) return;
      if (!(error instanceof Unreachable)) console.error(`${name}: ${(error as Error).message}`);
      else if (!reportedUnreachable) {
        reportedUnreachable = true;
        console.error(error.message);
      }
      await sleep(1000, undefined, { signal: stop.signal }).catch(() => {});
    }
  }
}

console.log(`Simulating project "${projectId}" against ${url} (Ctrl-C to stop)`);
console.log(
  `Watch it in GraphiQL at ${url}: its first tab subscribes to every event of project "demo"` +
    (projectId === 'demo' ? '' : ` (write "${projectId}" there instead)`),
);
await Promise.all([
  loop('ingest', ingestJob),
  loop('ingest', ingestJob),
  loop('agent', agentRun),
  loop('workflow', workflowRun),
]);
