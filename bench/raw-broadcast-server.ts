/**
 * The ceiling for the fan-out benchmark: no GraphQL at all. It speaks just enough of
 * graphql-transport-ws for the same load generator (init, ack, subscribe by projectId) and
 * takes the same two mutations over HTTP; each progress update is serialised once and
 * written to every subscriber of the job's project.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

const subscribers = new Map<string, Set<{ socket: WebSocket; id: string }>>();
const projectOfJob = new Map<string, string>();
const sequence = new Map<string, number>();

const server = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    const { variables } = JSON.parse(body) as { variables: Record<string, string> };
    if (variables.projectId !== undefined) {
      // The snapshot query resuming clients start from: nothing to resume here.
      response.end(JSON.stringify({ data: { projectSnapshot: { cursor: 'raw:0', ingestJobs: [], agentRuns: [], workflowRuns: [] } } }));
      return;
    }
    if (variables.p !== undefined) {
      const id = randomUUID();
      projectOfJob.set(id, variables.p);
      response.end(JSON.stringify({ data: { createIngestJob: { id } } }));
      return;
    }
    const projectId = projectOfJob.get(variables.id!)!;
    const seq = (sequence.get(projectId) ?? 0) + 1;
    sequence.set(projectId, seq);
    // The same shape and size as the client's IngestJobStream result, so only the work differs.
    const at = new Date().toISOString();
    const job = {
      id: variables.id,
      projectId,
      source: 'bench',
      status: 'RUNNING',
      progress: Number(variables.progress),
      message: variables.message,
      processedItems: null,
      totalItems: null,
      error: null,
      createdAt: at,
      updatedAt: at,
    };
    const payload = JSON.stringify({ data: { ingestJob: { cursor: `raw:${seq}`, type: 'INGEST_JOB_UPDATED', job } } });
    for (const subscriber of subscribers.get(projectId) ?? []) {
      if (subscriber.socket.readyState === WebSocket.OPEN) {
        subscriber.socket.send(`{"id":${JSON.stringify(subscriber.id)},"type":"next","payload":${payload}}`);
      }
    }
    response.end(JSON.stringify({ data: { updateIngestJobProgress: { id: variables.id } } }));
  });
});

new WebSocketServer({ server, path: '/graphql' }).on('connection', (socket) => {
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string; payload?: { variables?: { projectId?: string } } };
    if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (message.type === 'ping') socket.send('{"type":"pong"}');
    else if (message.type === 'subscribe') {
      const projectId = message.payload!.variables!.projectId!;
      let set = subscribers.get(projectId);
      if (!set) subscribers.set(projectId, (set = new Set()));
      const entry = { socket, id: message.id! };
      set.add(entry);
      socket.once('close', () => set.delete(entry));
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ level: 30, url: `http://127.0.0.1:${port}/graphql` }));
});
process.once('SIGINT', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
