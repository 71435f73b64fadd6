/**
 * A hostile tenant: one read-only token for one project runs each attack of docs/limits.md
 * against one server (production mode, authentication on, Redis, default limits), while a
 * well-behaved subscriber of another project on the same instance measures its delivery
 * latency. Prints per attack the server's peak RSS growth, the worst `/health` latency, the
 * victim's p99 delivery latency against its quiet baseline, and what the attacker was answered.
 * The victim and the samplers run in a worker (bench/hostile-probe.ts), so the attackers'
 * clients in this thread do not delay them.
 *
 *   npm run bench:hostile
 *   BENCH_PHASE_MS=6000 npm run bench:hostile   # shorter phases (stalled replays need REPLAY_STALL_TIMEOUT_MS to be cut)
 *   BENCH_ATTACKS=comment,2\ WebSockets npm run bench:hostile   # only the attacks whose names contain one of these
 *   BENCH_PROFILE_DIR=<dir> npm run bench:hostile   # a CPU profile of the server from after seeding (bench/profiled-server.ts,
 *                                                    # summarised by bench/profile-summary.ts)
 */
import { once } from 'node:events';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { REDIS_URL, deleteKeys, uniquePrefix } from '../tests/support/redis.js';
import { TEST_SECRET, signToken } from '../tests/support/tokens.js';
import { connectGraphqlWs, graphqlCaller } from './clients.js';
import type { ProbeCommand, ProbeOptions, ProbeReading } from './hostile-probe.js';
import { startServerProcess } from './server-process.js';

const phaseMs = Number(process.env.BENCH_PHASE_MS ?? 14_000);
const stallMs = Number(process.env.BENCH_REPLAY_STALL_MS ?? 10_000);
const MESSAGES = 200;
const CONTENT = 'x'.repeat(100_000);
const attackFilter = process.env.BENCH_ATTACKS?.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
const profileDir = process.env.BENCH_PROFILE_DIR;

const prefix = uniquePrefix('bench-hostile');
const redis = new Redis(REDIS_URL);
const server = await startServerProcess({
  NODE_ENV: 'production',
  AUTH_JWT_SECRET: TEST_SECRET,
  REDIS_URL,
  REDIS_KEY_PREFIX: prefix,
  METRICS_TOKEN: 'bench-hostile-metrics-token',
  REPLAY_STALL_TIMEOUT_MS: String(stallMs),
  // The writer seeds the log quickly; the attacker cannot write at all.
  MUTATIONS_PER_SECOND: '10000',
  ...(profileDir ? { PROFILE_DIR: resolve(profileDir) } : {}),
}, profileDir ? 'bench/profiled-server.ts' : undefined);
const wsUrl = server.url.replace(/^http/, 'ws');

const HOSTILE = 'hostile-project';
const VICTIM = 'victim-project';
const writer = graphqlCaller(await signToken({ sub: 'writer', projects: [HOSTILE, VICTIM], scope: 'events:read events:write' }));
const attackerToken = await signToken({ sub: 'attacker', projects: [HOSTILE], scope: 'events:read' });
const victimToken = await signToken({ sub: 'victim', projects: [VICTIM], scope: 'events:read' });

const sockets: WebSocket[] = [];
try {
  console.error('seeding a 20 MB log');
  // A 20 MB log in the attacker's project, and the cursor from before it.
  const after = (await writer(server.url, `query ($p: ID!) { projectSnapshot(projectId: $p) { cursor } }`, { p: HOSTILE })).projectSnapshot
    .cursor as string;
  const runId = (await writer(server.url, `mutation ($p: ID!) { startAgentRun(projectId: $p, agent: "big") { id } }`, { p: HOSTILE })).startAgentRun
    .id as string;
  for (let index = 0; index < MESSAGES; index++) {
    await writer(server.url, `mutation ($r: ID!, $c: String!) { appendAgentMessage(runId: $r, role: ASSISTANT, content: $c) { index } }`, {
      r: runId,
      c: CONTENT,
    });
  }
  const jobId = (await writer(server.url, `mutation ($p: ID!) { createIngestJob(projectId: $p, source: "victim") { id } }`, { p: VICTIM }))
    .createIngestJob.id as string;
  const hostileJobId = (await writer(server.url, `mutation ($p: ID!) { createIngestJob(projectId: $p, source: "hostile") { id } }`, { p: HOSTILE }))
    .createIngestJob.id as string;

  console.error('seeded');
  // Seeding is not the attack: the profile starts here.
  if (profileDir) process.kill(server.pid, 'SIGUSR2');
  // The victim, the /health sampler and the RSS sampler run in a worker: the attackers'
  // clients below share this thread, and must not delay what measures the server.
  // A worker is loaded by Node itself, not through tsx: it registers tsx before importing the probe.
  const probeUrl = new URL('./hostile-probe.ts', import.meta.url).href;
  const probe = new Worker(`import('tsx/esm/api').then(({ register }) => (register(), import(${JSON.stringify(probeUrl)})))`, {
    eval: true,
    workerData: { url: server.url, victimToken, victimProject: VICTIM, pid: server.pid } satisfies ProbeOptions,
  });
  const fromProbe = () => new Promise<unknown>((resolve, reject) => {
    probe.once('message', resolve);
    probe.once('error', reject);
  });
  await fromProbe();
  let ticking = true;
  let tick = 0;
  let hostileEvents = 0;
  let feedHostile = false;
  const ticker = (async () => {
    while (ticking) {
      tick++;
      await writer(server.url, `mutation ($id: ID!, $p: Float!) { updateIngestJobProgress(id: $id, progress: $p) { id } }`, {
        id: jobId,
        p: (tick % 1000) / 1000,
      });
      // Events in the attacker's project too, for the audiences it subscribed to.
      if (feedHostile) {
        hostileEvents++;
        await writer(server.url, `mutation ($id: ID!, $p: Float!) { updateIngestJobProgress(id: $id, progress: $p) { id } }`, {
          id: hostileJobId,
          p: (tick % 1000) / 1000,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  /** Runs `attack` for a phase while sampling RSS and /health; returns the row. */
  async function phase(name: string, attack: (until: number) => Promise<string>) {
    if (attackFilter && name !== 'quiet baseline' && !attackFilter.some((part) => name.toLowerCase().includes(part))) return undefined;
    const reading = fromProbe();
    probe.postMessage({ type: 'start' } satisfies ProbeCommand);
    const cpuBefore = server.cpuMs();
    const eventsBefore = hostileEvents;
    const answered = await attack(Date.now() + phaseMs);
    const cpuMs = server.cpuMs() - cpuBefore;
    probe.postMessage({ type: 'stop' } satisfies ProbeCommand);
    const measured = (await reading) as ProbeReading;
    console.error(`  ${name}: done`);
    return {
      name,
      ...measured,
      answered,
      cpuMs,
      hostileEvents: hostileEvents - eventsBefore,
    };
  }

  const sleepUntil = (until: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now())));

  /** A raw graphql-ws connection of the attacker that sends `subscribes` and never reads again until the end. */
  function stalledConnection(payloads: Array<{ query: string; variables?: Record<string, unknown> }>, connectionParams: unknown = { authorization: `Bearer ${attackerToken}` }) {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    sockets.push(socket);
    const answers: Record<string, number> = {};
    let closeCode: number | undefined;
    socket.on('error', () => {});
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: any };
      if (message.type === 'connection_ack') {
        payloads.forEach((payload, index) => socket.send(JSON.stringify({ id: String(index), type: 'subscribe', payload })));
        // From here on the attacker reads nothing: the server's writes back up.
        socket.pause();
        return;
      }
      const code = message.type === 'error' ? (message.payload?.[0]?.extensions?.code ?? 'error') : message.payload?.errors?.[0]?.extensions?.code ?? message.type;
      answers[code] = (answers[code] ?? 0) + 1;
    });
    const closed = new Promise<void>((resolve) =>
      socket.on('close', (code) => {
        closeCode = code;
        resolve();
      }),
    );
    return {
      /** Reads what was waiting, then tells how it ended. */
      async finish(): Promise<string> {
        socket.resume();
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 3000))]);
        socket.terminate();
        const counts = Object.entries(answers)
          .filter(([code]) => code !== 'next')
          .map(([code, count]) => `${count}× ${code}`);
        return [...counts, `closed ${closeCode ?? 'open'}`].join(', ');
      },
    };
  }

  const AGENT_RUN = `subscription ($p: ID!, $after: String) { agentRun(projectId: $p, after: $after) { cursor type message { content } } }`;
  const resume = { query: AGENT_RUN, variables: { p: HOSTILE, after } };
  const queryAs = graphqlAnswer(attackerToken);

  const rows = [];
  rows.push(await phase('quiet baseline', async (until) => (await sleepUntil(until), '—')));
  rows.push(
    await phase('50 resumes of a 20 MB log on one WebSocket, then stop reading', async (until) => {
      const connection = stalledConnection(Array.from({ length: 50 }, () => resume));
      await sleepUntil(until);
      return connection.finish();
    }),
  );
  rows.push(
    await phase('2 WebSockets × 100 such resumes', async (until) => {
      const connections = [0, 1].map(() => stalledConnection(Array.from({ length: 100 }, () => resume)));
      await sleepUntil(until);
      return (await Promise.all(connections.map((connection) => connection.finish()))).join(' / ');
    }),
  );
  const messagesQuery = (page: string) => `query ($id: ID!${page.includes('$n') ? ', $n: Int' : ''}) { ${Array.from({ length: 15 }, (_, index) => `a${index}: agentRun(id: $id) { messages(${page}) { content } }`).join(' ')} }`;
  rows.push(
    await phase('15 aliases of messages(last: $n), n = 200', async (until) => {
      const codes = new Map<string, number>();
      while (Date.now() < until) await queryAs(messagesQuery('last: $n'), { id: runId, n: 200 }, codes);
      return summary(codes);
    }),
  );
  rows.push(
    await phase('15 aliases of the largest page the cost allows (messages { content }, 50 each)', async (until) => {
      const codes = new Map<string, number>();
      while (Date.now() < until) await queryAs(messagesQuery('first: 50'), { id: runId }, codes);
      return summary(codes);
    }),
  );
  rows.push(
    await phase('15 aliases of events(limit: 1000) { … message { content } }', async (until) => {
      const codes = new Map<string, number>();
      const query = `query { ${Array.from({ length: 15 }, (_, index) => `a${index}: events(projectId: "${HOSTILE}", limit: 1000) { cursor type ... on AgentRunEvent { message { content } } }`).join(' ')} }`;
      while (Date.now() < until) await queryAs(query, {}, codes);
      return summary(codes);
    }),
  );
  rows.push(
    await phase('events(limit: 600) { … message { content } }, the largest page the cost allows', async (until) => {
      const codes = new Map<string, number>();
      const query = `query { events(projectId: "${HOSTILE}", limit: 600) { cursor type ... on AgentRunEvent { message { content } } } }`;
      while (Date.now() < until) await queryAs(query, {}, codes);
      return summary(codes);
    }),
  );
  rows.push(
    await phase('events(types: [AGENT_MESSAGE_APPENDED], limit: 600) { … message { content } }, filtered', async (until) => {
      const codes = new Map<string, number>();
      const query = `query { events(projectId: "${HOSTILE}", types: [AGENT_MESSAGE_APPENDED], limit: 600) { cursor type ... on AgentRunEvent { message { content } } } }`;
      while (Date.now() < until) await queryAs(query, {}, codes);
      return summary(codes);
    }),
  );
  feedHostile = true;
  rows.push(
    await phase('5,000 subscriptions differing only by a comment (50 WebSockets × 100)', async (until) => {
      const answers = new Map<string, number>();
      const clients = await Promise.all(
        Array.from({ length: 50 }, async (_, connection) => {
          const client = await connectGraphqlWs(server.url, attackerToken).catch(() => undefined);
          if (!client) return undefined;
          for (let index = 0; index < 100; index++) {
            client.subscribe(
              { query: `# ${connection * 100 + index}\nsubscription ($p: ID!) { ingestJob(projectId: $p) { cursor job { progress } } }`, variables: { p: HOSTILE } },
              {
                next: (result: any) => void (result.errors && count(answers, String(result.errors[0]?.extensions?.code))),
                error: (error: any) => count(answers, String(error?.[0]?.extensions?.code ?? error?.code ?? 'error')),
                complete: () => {},
              },
            );
          }
          return client;
        }),
      );
      await sleepUntil(until);
      await Promise.all(clients.map((client) => client?.dispose()));
      const refusedConnections = clients.filter((client) => !client).length;
      return `${summary(answers)}${refusedConnections ? `, ${refusedConnections} connections refused` : ''}`;
    }),
  );
  feedHostile = false;
  rows.push(
    await phase('connectionParams.authorization as a number, an array, an object (×100 each)', async () => {
      const codes = new Map<string, number>();
      for (let round = 0; round < 100; round++) {
        await Promise.all(
          [42, ['Bearer x'], { token: 'x' }].map(
            (authorization) =>
              new Promise<void>((resolve) => {
                const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
                socket.on('error', () => {});
                socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
                socket.on('close', (code) => {
                  count(codes, `close ${code}`);
                  resolve();
                });
              }),
          ),
        );
      }
      return summary(codes);
    }),
  );

  ticking = false;
  await ticker;
  probe.postMessage({ type: 'dispose' } satisfies ProbeCommand);
  await once(probe, 'exit');

  const measured = rows.filter((row) => row !== undefined);
  const baseline = measured[0]!.p99;
  console.log(`\nserver: production, authentication on, Redis, default limits (REPLAY_STALL_TIMEOUT_MS=${stallMs}); phases of ${phaseMs / 1000} s`);
  console.log(`victim: one graphql-ws subscription of another project, 20 events a second; quiet p99 ${baseline} ms\n`);
  console.log('| attack | peak RSS growth | worst /health | victim p99 (quiet ' + `${baseline} ms) | server CPU | attacker was answered |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of measured.slice(1)) {
    const cpu = row.hostileEvents ? `${(row.cpuMs / row.hostileEvents).toFixed(1)} ms/event` : `${(row.cpuMs / (phaseMs / 1000)).toFixed(0)} ms/s`;
    console.log(`| ${row.name} | ${row.rssGrowthMiB.toFixed(0)} MiB | ${row.worstHealthMs.toFixed(0)} ms${row.healthFailures ? ` (${row.healthFailures} failed)` : ''} | ${row.p99} ms | ${cpu} | ${row.answered} |`);
  }
  const misses = measured.slice(1).flatMap((row) => [
    ...(row.rssGrowthMiB > 256 ? [`${row.name}: RSS +${row.rssGrowthMiB.toFixed(0)} MiB > 256`] : []),
    ...(row.worstHealthMs >= 200 ? [`${row.name}: /health ${row.worstHealthMs.toFixed(0)} ms ≥ 200`] : []),
    ...(row.p99 > 2 * baseline ? [`${row.name}: victim p99 ${row.p99} ms > 2 × ${baseline}`] : []),
  ]);
  console.log(misses.length ? `\ngoals missed:\n  ${misses.join('\n  ')}` : '\nevery goal met: RSS ≤ 256 MiB, /health < 200 ms, victim p99 ≤ 2× quiet');
} finally {
  for (const socket of sockets) socket.terminate();
  await server.stop();
  await deleteKeys(redis, prefix);
  redis.disconnect();
}

function count(counts: Map<string, number>, code: string): void {
  counts.set(code, (counts.get(code) ?? 0) + 1);
}

function summary(counts: Map<string, number>): string {
  return [...counts].map(([code, times]) => `${times}× ${code}`).join(', ') || 'nothing';
}

/** Queries as `token`, counting the first error code of each answer (or `data`), and the answer's size. */
function graphqlAnswer(token: string) {
  return async (query: string, variables: Record<string, unknown>, codes: Map<string, number>) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    const result = JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> };
    const code = result.errors?.[0]?.extensions?.code ?? `data (${(text.length / 1e6).toFixed(1)} MB)`;
    count(codes, code);
  };
}
