/**
 * The raw limit for the token benchmark: no GraphQL, no Redis, no authentication. It speaks
 * just enough of graphql-transport-ws and of the HTTP mutations for the same load generator,
 * batches each message's pieces with the same window (AGENT_DELTA_WINDOW_MS, 0 for none),
 * and writes each event, serialised once and shaped like the client's `AgentRunStream`
 * result, to every subscriber of its run.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

const windowMs = Number(process.env.AGENT_DELTA_WINDOW_MS ?? 50);

interface Message {
  id: string;
  content: string;
  /** Code units of `content` already sent in a delta. */
  emitted: number;
  /** When the last delta went out (ms): the next window starts there. */
  emittedAt: number;
  flush?: NodeJS.Timeout;
}

interface Run {
  summary: Record<string, unknown>;
  subscribers: Set<{ socket: WebSocket; id: string }>;
  message?: Message;
}

const runs = new Map<string, Run>();
let seq = 0;

function emit(run: Run, type: string, fields: { step?: unknown; message?: unknown; messageDelta?: unknown }): void {
  seq++;
  run.summary.updatedAt = new Date().toISOString();
  const event = { cursor: `raw:${seq}`, type, run: run.summary, step: null, message: null, messageDelta: null, ...fields };
  const payload = JSON.stringify({ data: { agentRun: event } });
  for (const subscriber of run.subscribers) {
    if (subscriber.socket.readyState === WebSocket.OPEN) {
      subscriber.socket.send(`{"id":${JSON.stringify(subscriber.id)},"type":"next","payload":${payload}}`);
    }
  }
}

function flush(run: Run, message: Message): void {
  clearTimeout(message.flush);
  message.flush = undefined;
  if (message.emitted === message.content.length) return;
  const messageDelta = { messageId: message.id, offset: message.emitted, text: message.content.slice(message.emitted) };
  message.emitted = message.content.length;
  message.emittedAt = performance.now();
  emit(run, 'AGENT_MESSAGE_DELTA', { messageDelta });
}

function append(variables: { runId: string; text: string }): void {
  const run = runs.get(variables.runId)!;
  const message = run.message!;
  message.content += variables.text;
  if (message.flush) return;
  // As ours: at once when the last delta is a window old, else when the window ends.
  const since = performance.now() - message.emittedAt;
  if (windowMs === 0 || since >= windowMs) flush(run, message);
  else message.flush = setTimeout(() => flush(run, message), windowMs - since);
}

function messageRecord(message: Message, status: string) {
  return { id: message.id, index: 0, role: 'ASSISTANT', content: message.content, status, createdAt: new Date().toISOString() };
}

const server = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    const { query, variables } = JSON.parse(body) as { query: string; variables: Record<string, string> };
    const answer = (data: unknown) => response.end(JSON.stringify({ data }));
    if (query.includes('projectSnapshot')) return answer({ projectSnapshot: { cursor: 'raw:0' } });
    if (query.includes('startAgentRun')) {
      const id = randomUUID();
      const at = new Date().toISOString();
      const summary = { id, projectId: variables.projectId, agent: 'bench', status: 'RUNNING', output: null, error: null, createdAt: at, updatedAt: at, stepCount: 0, messageCount: 0 };
      runs.set(id, { summary, subscribers: new Set() });
      return answer({ startAgentRun: { id } });
    }
    const run = runs.get(variables.runId!)!;
    if (query.includes('updateAgentStep')) {
      const step = { id: 'warm-up', name: 'warm up', status: 'RUNNING', startedAt: new Date().toISOString(), finishedAt: null };
      run.summary.stepCount = 1;
      emit(run, 'AGENT_STEP_UPDATED', { step });
      return answer({ updateAgentStep: { id: run.summary.id } });
    }
    if (query.includes('startAgentMessage')) {
      run.message = { id: randomUUID(), content: '', emitted: 0, emittedAt: -Infinity };
      run.summary.messageCount = 1;
      emit(run, 'AGENT_MESSAGE_APPENDED', { message: messageRecord(run.message, 'STREAMING') });
      return answer({ startAgentMessage: { id: run.message.id } });
    }
    if (query.includes('appendAgentMessageContent')) {
      append(variables as { runId: string; text: string });
      return answer({ appendAgentMessageContent: { id: variables.messageId } });
    }
    if (query.includes('finishAgentMessage')) {
      const message = run.message!;
      flush(run, message);
      emit(run, 'AGENT_MESSAGE_COMPLETED', { message: messageRecord(message, 'COMPLETE') });
      return answer({ finishAgentMessage: { id: message.id } });
    }
    response.statusCode = 400;
    response.end('{"errors":[{"message":"not known to the raw server"}]}');
  });
});

new WebSocketServer({ server, path: '/graphql' }).on('connection', (socket, request) => {
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string; payload?: { query: string; variables: Record<string, string> } };
    if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (message.type === 'ping') socket.send('{"type":"pong"}');
    else if (message.type === 'subscribe') {
      const { query, variables } = message.payload!;
      if (query.trimStart().startsWith('mutation')) {
        append(variables as { runId: string; text: string });
        const id = JSON.stringify(message.id);
        // One write for both, as our server sends them.
        request.socket.cork();
        socket.send(`{"id":${id},"type":"next","payload":{"data":{"appendAgentMessageContent":{"id":${JSON.stringify(variables.messageId)}}}}}`);
        socket.send(`{"id":${id},"type":"complete"}`);
        request.socket.uncork();
        return;
      }
      const entry = { socket, id: message.id! };
      const run = runs.get(variables.runId!)!;
      run.subscribers.add(entry);
      socket.once('close', () => run.subscribers.delete(entry));
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ level: 30, url: `http://127.0.0.1:${port}/graphql` }));
});
process.once('SIGINT', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
