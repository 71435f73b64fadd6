/**
 * Drives realistic work against a running server so its streams have something to show:
 * ingest jobs that report progress, agent runs that step and talk (assistant answers are
 * streamed token by token, as a model writes them), workflows whose nodes run one after
 * another. Everything goes through the producer package, as a real producer would send it.
 * Stops on Ctrl-C, or after SIMULATE_DURATION_MS. SIMULATE_TOKEN is sent as the bearer
 * token when the server has authentication on.
 *
 *   npm run simulate                       # http://127.0.0.1:4000/graphql, project "demo"
 *   npm run simulate -- http://host:4000/graphql my-project
 */
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { ProducerError, createProducer } from '../producer/src/index.js';

const url = process.argv[2] ?? process.env.SIMULATE_URL ?? 'http://127.0.0.1:4000/graphql';
const projectId = process.argv[3] ?? process.env.SIMULATE_PROJECT ?? 'demo';
const durationMs = Number(process.env.SIMULATE_DURATION_MS ?? Infinity);
/** Pause between steps of one piece of work. */
const tickMs = Number(process.env.SIMULATE_TICK_MS ?? 400);

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
if (Number.isFinite(durationMs)) setTimeout(() => stop.abort(), durationMs).unref();

/**
 * Every change exactly once, over one WebSocket. A call that gets no answer for two seconds
 * gives up (the loop reports it and starts over), so an absent server is said at once.
 */
const producer = createProducer({ url, token: process.env.SIMULATE_TOKEN || undefined, webSocketImpl: WebSocket, retry: { deadlineMs: 2000 } });
/** Every call stops when the simulation does. */
const calls = { signal: stop.signal };
/** Whether the loops said that no server answers, so they say it once, not per failed call. */
let reportedUnreachable = false;

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
  const job = await producer.createIngestJob({ projectId, source, totalItems }, calls);
  let processed = 0;
  while (processed < totalItems) {
    await pause();
    processed = Math.min(totalItems, processed + Math.ceil(totalItems / (5 + Math.random() * 10)));
    await producer.updateIngestJobProgress(
      { id: job.id, progress: processed / totalItems, processedItems: processed, message: `read ${processed} of ${totalItems}` },
      calls,
    );
    if (Math.random() < 0.03) {
      await producer.failIngestJob({ id: job.id, error: 'source closed the connection' }, calls);
      return;
    }
  }
  await producer.completeIngestJob({ id: job.id }, calls);
}

async function agentRun(): Promise<void> {
  const conversation = pick(CONVERSATIONS);
  const run = await producer.startAgentRun({ projectId, agent: conversation.agent }, calls);
  const step = (stepId: string, name: string, status: 'RUNNING' | 'COMPLETED') =>
    producer.updateAgentStep({ runId: run.id, stepId, name, status }, calls);
  const say = (role: 'USER' | 'ASSISTANT' | 'TOOL', content: string) => producer.appendAgentMessage({ runId: run.id, role, content }, calls);
  /** An assistant answer as a model writes it, a token at a time. */
  async function* modelTokens(text: string) {
    for (const token of tokensOf(text)) {
      await tokenPause();
      yield token;
    }
  }
  await say('USER', conversation.question);
  for (const [stepId, name] of [
    ['plan', 'Plan'],
    ['search', 'Search'],
    ['answer', 'Answer'],
  ] as const) {
    await pause();
    await step(stepId, name, 'RUNNING');
    await pause();
    if (stepId === 'answer') {
      const message = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' }, calls);
      await message.pipe(modelTokens(conversation.answer));
    } else {
      await say(stepId === 'search' ? 'TOOL' : 'ASSISTANT', `${name}: ${pick(['looking at logs', 'found 3 matches', 'drafting'])}`);
    }
    await step(stepId, name, 'COMPLETED');
  }
  await producer.completeAgentRun({ runId: run.id, output: 'Done: see the messages above.' }, calls);
}

async function workflowRun(): Promise<void> {
  const nodeIds = ['extract', 'transform', 'validate', 'load'];
  const run = await producer.startWorkflowRun({ projectId, workflowId: pick(['nightly-etl', 'embeddings-refresh']), nodeIds }, calls);
  for (const nodeId of nodeIds) {
    await pause();
    await producer.updateWorkflowNodeState({ runId: run.id, nodeId, status: 'RUNNING' }, calls);
    await pause(2);
    await producer.updateWorkflowNodeState({ runId: run.id, nodeId, status: 'SUCCEEDED', output: `${Math.floor(Math.random() * 10_000)} rows` }, calls);
  }
  await producer.finishWorkflowRun({ runId: run.id, status: 'SUCCEEDED' }, calls);
}

/** Keeps `work` running back to back until stopped. */
async function loop(name: string, work: () => Promise<void>): Promise<void> {
  while (!stop.signal.aborted) {
    try {
      await work();
      if (reportedUnreachable) {
        reportedUnreachable = false;
        console.log(`the server at ${url} answers again`);
      }
    } catch (error) {
      if (stop.signal.aborted) return;
      const unreachable = error instanceof ProducerError && error.code === 'NETWORK_ERROR';
      if (!unreachable) console.error(`${name}: ${(error as Error).message}`);
      else if (!reportedUnreachable) {
        reportedUnreachable = true;
        console.error(`no server answers at ${url} (${error.message}): start one with \`npm start\`, or pass its URL: npm run simulate -- <url>`);
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
await producer.close();
