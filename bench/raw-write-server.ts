/**
 * The raw limits of `npm run bench:write`: the durable work of a progress update with no
 * more around it than a transport needs. WRITE_SERVER picks the front:
 *   - `http` (default): node:http, the JSON body read and answered by hand;
 *   - `yoga`: a bare graphql-yoga server (no plugins, no context, no authentication) whose
 *     resolver runs the same script;
 *   - `ws`: just enough of graphql-transport-ws for graphql-ws clients, the same script per
 *     `subscribe`, answered with `next` and `complete`.
 * Each serves `createIngestJob` (to set up) and `updateIngestJobProgress` (what is measured)
 * on REDIS_URL. The job's summary and version are kept in memory, since this process is the
 * only writer; the script still checks the version, as a commit must.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';

/**
 * One commit of a progress update: version check, summary, position, log entry, publication.
 * The same commands as the project's commit script for this change, and no others.
 * KEYS: job hash, project head, project log. ARGV: expected version, summary JSON, event
 * JSON, epoch for a new log, now (ms), the project's channel. Returns false on a version
 * conflict, otherwise { epoch, seq }.
 */
export const RAW_COMMIT_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return false end
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('HSET', KEYS[2], 'epoch', epoch)
end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('HSET', KEYS[1], 'v', current + 1, 'd', ARGV[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 10000, seq .. '-0', 't', ARGV[5], 'e', ARGV[3])
redis.call('PUBLISH', ARGV[6], string.sub(ARGV[3], 1, -2) .. ',"seq":' .. seq .. ',"epoch":' .. cjson.encode(epoch) .. '}')
return { epoch, seq }
`;

type Job = { id: string; projectId: string; source: string; status: string; progress: number; message: string | null; processedItems: number | null; totalItems: number | null; error: null; createdAt: string; updatedAt: string };

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') as Redis & {
  rawCommit(...args: Array<string | number>): Promise<[string, number] | null>;
};
redis.defineCommand('rawCommit', { numberOfKeys: 3, lua: RAW_COMMIT_SCRIPT });
const jobs = new Map<string, { job: Job; version: number }>();
const epoch = randomUUID();

async function createJob(projectId: string, source: string): Promise<Job> {
  const at = new Date().toISOString();
  const job: Job = { id: randomUUID(), projectId, source, status: 'PENDING', progress: 0, message: null, processedItems: null, totalItems: null, error: null, createdAt: at, updatedAt: at };
  await redis.hset(`job:${job.id}`, 'v', 1, 'd', JSON.stringify(job));
  jobs.set(job.id, { job, version: 1 });
  return job;
}

async function updateProgress(variables: { id: string; progress: number; processedItems?: number | null; message?: string | null }): Promise<Job> {
  const entry = jobs.get(variables.id);
  if (!entry) throw new Error(`no job ${variables.id}`);
  const at = new Date();
  const job: Job = {
    ...entry.job,
    status: 'RUNNING',
    progress: variables.progress,
    processedItems: variables.processedItems ?? entry.job.processedItems,
    message: variables.message ?? entry.job.message,
    updatedAt: at.toISOString(),
  };
  const event = JSON.stringify({ type: 'INGEST_JOB_UPDATED', projectId: job.projectId, occurredAt: job.updatedAt, job });
  const project = `project:${job.projectId}`;
  const reply = await redis.rawCommit(`job:${job.id}`, `${project}:head`, `${project}:log`, entry.version, JSON.stringify(job), event, epoch, at.getTime(), project);
  if (reply === null) throw new Error(`job ${job.id} changed since version ${entry.version}`);
  entry.version++;
  entry.job = job;
  return job;
}

type Request = { query: string; variables: Record<string, any> };

/** The HTTP and WebSocket fronts answer both operations by the field the document names. */
async function execute({ query, variables }: Request): Promise<unknown> {
  if (query.includes('createIngestJob')) return { createIngestJob: { id: (await createJob(variables.p ?? variables.projectId, 'bench')).id } };
  if (query.includes('updateIngestJobProgress')) return { updateIngestJobProgress: { id: (await updateProgress(variables as never)).id } };
  throw new Error('not known to the raw server');
}

const mode = process.env.WRITE_SERVER ?? 'http';
let server;
if (mode === 'yoga') {
  const { createSchema, createYoga } = await import('graphql-yoga');
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: `
        type IngestJob { id: ID! projectId: ID! status: String! progress: Float! message: String processedItems: Int }
        type Query { job(id: ID!): IngestJob }
        type Mutation {
          createIngestJob(projectId: ID!, source: String!, totalItems: Int): IngestJob!
          updateIngestJobProgress(id: ID!, progress: Float!, processedItems: Int, message: String): IngestJob!
        }`,
      resolvers: {
        Query: { job: (_: unknown, { id }: { id: string }) => jobs.get(id)?.job },
        Mutation: {
          createIngestJob: (_: unknown, { projectId, source }: { projectId: string; source: string }) => createJob(projectId, source),
          updateIngestJobProgress: (_: unknown, variables: never) => updateProgress(variables),
        },
      },
    }),
    logging: false,
    landingPage: false,
    graphiql: false,
  });
  server = createServer(yoga);
} else {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      execute(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Request).then(
        (data) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ data }));
        },
        (error: Error) => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ errors: [{ message: error.message }] }));
        },
      );
    });
  });
  if (mode === 'ws') {
    new WebSocketServer({ server, path: '/graphql' }).on('connection', (socket, request) => {
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; id?: string; payload?: Request };
        if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
        else if (message.type === 'ping') socket.send('{"type":"pong"}');
        else if (message.type === 'subscribe') {
          const id = JSON.stringify(message.id);
          execute(message.payload!).then(
            (result) => {
              // One write for both, as our server sends them.
              request.socket.cork();
              socket.send(`{"id":${id},"type":"next","payload":${JSON.stringify({ data: result })}}`);
              socket.send(`{"id":${id},"type":"complete"}`);
              request.socket.uncork();
            },
            (error: Error) => socket.send(`{"id":${id},"type":"error","payload":${JSON.stringify([{ message: error.message }])}}`),
          );
        }
      });
    });
  }
}
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ level: 30, url: `http://127.0.0.1:${port}/graphql` }));
});
const stop = () => {
  redis.disconnect();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
