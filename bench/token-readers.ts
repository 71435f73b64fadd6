/**
 * The subscribers of `npm run bench:tokens`, in a process of their own (forked with an IPC
 * channel) so that reading a thousand streams does not take the CPU the server under test
 * needs: each subscriber is a bare WebSocket speaking graphql-transport-ws by hand, with no
 * client library, as the SSE lean reader of bench/fanout.ts reads its streams.
 *
 * Every delta's text is `<sent at>;` pieces, so each piece's latency from its `append` to
 * this reader is known, batched or not.
 *
 * Messages from the parent: `open` (subscribe everyone), `live?` (how many received an
 * event yet), `measure` (count frames from now), `stop` (stop counting), `finish` (wait
 * for every subscriber's AGENT_MESSAGE_COMPLETED, then compare texts). Each is answered.
 */
import WebSocket from 'ws';

export interface ReaderSubscription {
  /** `<run index>:<subscriber index>`. */
  key: string;
  runId: string;
  token?: string;
}

export type ReaderRequest =
  | { type: 'open'; url: string; query: string; projectId: string; after: string; subscriptions: ReaderSubscription[] }
  | { type: 'live?' }
  | { type: 'measure' }
  | { type: 'stop' }
  | { type: 'finish'; sent: Record<string, string> };

export type ReaderReply =
  | { type: 'opened' }
  | { type: 'live'; count: number }
  | { type: 'measuring' }
  | { type: 'stopped'; frames: number }
  | { type: 'finished'; p50: number; p99: number; exact: boolean; disconnected: number; completed: number; cpuMs: number };

const now = () => performance.timeOrigin + performance.now();
const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

interface Reader {
  runId: string;
  texts: string[];
  live: boolean;
  completed: boolean;
  disconnected: boolean;
  socket: WebSocket;
}

const readers = new Map<string, Reader>();
let measuring = false;
let frames = 0;
let latencies = new Float64Array(1 << 20);
let recorded = 0;
const cpuAtStart = process.cpuUsage();

function record(latency: number): void {
  if (recorded === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[recorded++] = latency;
}

function open(url: string, query: string, variables: Record<string, unknown>, subscription: ReaderSubscription): Promise<void> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const reader: Reader = { runId: subscription.runId, texts: [], live: false, completed: false, disconnected: false, socket };
  readers.set(subscription.key, reader);
  return new Promise((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: subscription.token ? { authorization: `Bearer ${subscription.token}` } : {} })));
    socket.on('error', reject);
    socket.on('close', () => {
      if (!reader.completed) reader.disconnected = true;
      reject(new Error('closed before subscribing'));
    });
    socket.on('message', (data) => {
      const at = now();
      const message = JSON.parse(String(data)) as { type: string; payload?: any };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
        resolve();
        return;
      }
      if (message.type === 'ping') return socket.send('{"type":"pong"}');
      if (message.type !== 'next') return;
      const event = message.payload.data.agentRun;
      reader.live = true;
      if (event.type === 'AGENT_MESSAGE_COMPLETED') reader.completed = true;
      if (event.type !== 'AGENT_MESSAGE_DELTA') return;
      if (measuring) frames++;
      const text = event.messageDelta.text as string;
      reader.texts.push(text);
      for (const stamp of text.split(';')) if (stamp) record(at - Number(stamp));
    });
  });
}

const reply = (message: ReaderReply) => process.send!(message);

process.on('message', async (request: ReaderRequest) => {
  switch (request.type) {
    case 'open': {
      const { subscriptions, url, query, projectId, after } = request;
      for (let batch = 0; batch < subscriptions.length; batch += 100) {
        await Promise.all(subscriptions.slice(batch, batch + 100).map((subscription) => open(url, query, { projectId, runId: subscription.runId, after }, subscription)));
      }
      return reply({ type: 'opened' });
    }
    case 'live?':
      return reply({ type: 'live', count: [...readers.values()].filter((reader) => reader.live).length });
    case 'measure':
      measuring = true;
      frames = 0;
      recorded = 0;
      return reply({ type: 'measuring' });
    case 'stop':
      measuring = false;
      return reply({ type: 'stopped', frames });
    case 'finish': {
      const deadline = Date.now() + 30_000;
      const all = [...readers.values()];
      while (all.some((reader) => !reader.completed && !reader.disconnected) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const sorted = latencies.slice(0, recorded).sort();
      const exact = all.every((reader) => reader.texts.join('') === request.sent[reader.runId]);
      const cpu = process.cpuUsage(cpuAtStart);
      reply({
        type: 'finished',
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        exact,
        disconnected: all.filter((reader) => reader.disconnected).length,
        completed: all.filter((reader) => reader.completed).length,
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
      for (const reader of all) reader.socket.terminate();
      process.disconnect();
    }
  }
});
