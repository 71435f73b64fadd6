/**
 * The measuring side of bench/hostile.ts, in a worker thread: the victim's subscription, the
 * `/health` sampler and the server's RSS, on an event loop of their own. An attack's clients
 * (thousands of subscriptions, their errors and closes) would otherwise delay the probe's own
 * timers and reads, and their work would be counted as the server's. They still share the
 * machine's cores, as any client does.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { connectGraphqlWs } from './clients.js';

export interface ProbeOptions {
  url: string;
  victimToken: string;
  victimProject: string;
  /** The server's process, whose RSS is sampled. */
  pid: number;
}

/** What the probe saw during one phase. */
export interface ProbeReading {
  rssGrowthMiB: number;
  worstHealthMs: number;
  healthFailures: number;
  /** The victim's p99 delivery latency, in ms. */
  p99: number;
}

export type ProbeCommand = { type: 'start' } | { type: 'stop' } | { type: 'dispose' };

const { url, victimToken, victimProject, pid } = workerData as ProbeOptions;
const port = parentPort!;
const healthUrl = new URL('/health', url).toString();

function rssMiB(): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

let latencies: number[] = [];
const victim = await connectGraphqlWs(url, victimToken);
victim.subscribe(
  { query: `subscription ($p: ID!) { ingestJob(projectId: $p) { occurredAt job { progress } } }`, variables: { p: victimProject } },
  {
    next: (result: any) => latencies.push(Date.now() - Date.parse(result.data.ingestJob.occurredAt)),
    error: (error) => console.error('victim:', error),
    complete: () => {},
  },
);

let phase: { sampling: boolean; sampler: Promise<ProbeReading> } | undefined;

async function sample(): Promise<ProbeReading> {
  latencies = [];
  const startRss = rssMiB();
  let peakRss = startRss;
  let worstHealth = 0;
  let healthFailures = 0;
  while (phase?.sampling !== false) {
    peakRss = Math.max(peakRss, rssMiB());
    const started = performance.now();
    try {
      await fetch(healthUrl).then((response) => response.arrayBuffer());
    } catch {
      // A kept-alive connection the server closed as the request left: counted as slow, retried.
      healthFailures++;
    }
    worstHealth = Math.max(worstHealth, performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
  return { rssGrowthMiB: peakRss - startRss, worstHealthMs: worstHealth, healthFailures, p99 };
}

port.on('message', async (command: ProbeCommand) => {
  if (command.type === 'start') {
    const started: { sampling: boolean; sampler: Promise<ProbeReading> } = { sampling: true, sampler: undefined as never };
    phase = started;
    started.sampler = sample();
  } else if (command.type === 'stop') {
    const running = phase!;
    running.sampling = false;
    port.postMessage(await running.sampler);
  } else {
    await victim.dispose();
    port.close();
  }
});
port.postMessage('ready');
