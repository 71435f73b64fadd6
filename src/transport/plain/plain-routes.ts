import type { IncomingMessage } from 'node:http';
import { DOTTED_EVENT_NAMES, eventTypeOfDottedName } from '../../events/event-names.js';
import { EVENT_TYPES, decodeCursor } from '../../events/event-record.js';
import type { EventType } from '../../generated/resolvers-types.js';
import { DomainError } from '../../errors.js';
import { requireId } from '../../validation.js';

/** Where the streams for clients without GraphQL live. */
export const PLAIN_STREAM_PATH = '/api/stream';

export function isPlainStreamPath(path: string): boolean {
  return path === PLAIN_STREAM_PATH || path.startsWith(`${PLAIN_STREAM_PATH}/`);
}

/** The subscription a plain stream runs on, with its arguments (apart from the cursor). */
export interface PlainRoute {
  field: 'projectEvents' | 'ingestJob' | 'agentRun' | 'workflowNodeState';
  projectId: string;
  /** The field's other arguments: the job or run, or the event types. */
  filters: { jobId?: string; runId?: string; types?: EventType[] };
}

export interface PlainStreamRequest {
  route: PlainRoute;
  /** Resume after this cursor (well-formed; whether it can be resumed is the stream's to say). */
  after?: string;
  /** What to authenticate: the Authorization header, or `Bearer <access_token>` from the query. */
  authorization?: string;
}

/** A request refused before any stream starts: an HTTP status and a JSON body. */
export class PlainStreamRefusal extends Error {
  override readonly name = 'PlainStreamRefusal';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

const STREAM_PATHS =
  `${PLAIN_STREAM_PATH}/projects/{projectId}, ${PLAIN_STREAM_PATH}/projects/{projectId}/ingest/{jobId}, ` +
  `${PLAIN_STREAM_PATH}/projects/{projectId}/agent-runs/{runId}, ${PLAIN_STREAM_PATH}/projects/{projectId}/workflow-runs/{runId}`;

const SUB_STREAMS = {
  ingest: { field: 'ingestJob', id: 'jobId' },
  'agent-runs': { field: 'agentRun', id: 'runId' },
  'workflow-runs': { field: 'workflowNodeState', id: 'runId' },
} as const;

function badRequest(message: string): PlainStreamRefusal {
  return new PlainStreamRefusal(400, 'BAD_USER_INPUT', message);
}

/** An id from the path, decoded and checked as the GraphQL arguments are. */
function pathId(field: string, segment: string): string {
  let value: string;
  try {
    value = decodeURIComponent(segment);
  } catch {
    throw badRequest(`${field}: is not valid percent-encoding: "${segment.slice(0, 80)}"`);
  }
  try {
    return requireId(field, value);
  } catch (error) {
    if (error instanceof DomainError) throw badRequest(error.message);
    throw error;
  }
}

function parseRoute(path: string): PlainRoute {
  const segments = path.slice(PLAIN_STREAM_PATH.length + 1).split('/');
  const [projects, projectSegment, kind, idSegment, ...rest] = segments;
  const notFound = () =>
    new PlainStreamRefusal(404, 'NOT_FOUND', `no stream at ${path.slice(0, 200)}; streams are ${STREAM_PATHS}`);
  if (projects !== 'projects' || !projectSegment || rest.length > 0) throw notFound();
  if (kind === undefined) return { field: 'projectEvents', projectId: pathId('projectId', projectSegment), filters: {} };
  const sub = Object.hasOwn(SUB_STREAMS, kind) ? SUB_STREAMS[kind as keyof typeof SUB_STREAMS] : undefined;
  if (!sub || !idSegment) throw notFound();
  return {
    field: sub.field,
    projectId: pathId('projectId', projectSegment),
    filters: { [sub.id]: pathId(sub.id, idSegment) },
  };
}

function parseTypes(value: string): EventType[] {
  const wanted = new Set<EventType>();
  for (const name of value.split(',').map((entry) => entry.trim())) {
    const type = eventTypeOfDottedName(name);
    if (!type) {
      throw badRequest(
        name === ''
          ? 'types: must list dotted event names separated by commas, with none empty'
          : `types: unknown event type "${name.slice(0, 80)}"; known types are ${DOTTED_EVENT_NAMES.join(', ')}`,
      );
    }
    wanted.add(type);
  }
  // In the schema's order, so that the same set of types is the same stream whatever the order asked.
  return EVENT_TYPES.filter((type) => wanted.has(type));
}

function parseCursor(source: string, value: string): string {
  if (!decodeCursor(value)) throw badRequest(`${source}: is not a cursor issued by this API: "${value.slice(0, 80)}"`);
  return value;
}

/**
 * Reads a plain stream request: the path names the stream, `?types=` narrows the project
 * stream, `?after=` (or, for SSE, `Last-Event-ID`) resumes, and the token comes from the
 * Authorization header or `?access_token=`. Throws `PlainStreamRefusal` (404, 400) for what
 * cannot be a stream.
 */
export function parsePlainStreamRequest(request: IncomingMessage, { lastEventId }: { lastEventId: boolean }): PlainStreamRequest {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const route = parseRoute(url.pathname);
  const types = url.searchParams.get('types');
  if (types !== null) {
    if (route.field !== 'projectEvents') throw badRequest(`types: only ${PLAIN_STREAM_PATH}/projects/{projectId} takes types`);
    route.filters.types = parseTypes(types);
  }
  let after = url.searchParams.has('after') ? parseCursor('after', url.searchParams.get('after')!) : undefined;
  // EventSource reconnects to the URL it was opened with, `after` included, and says in
  // Last-Event-ID how far it got since: that is where it resumes.
  const lastEvent = lastEventId ? request.headers['last-event-id'] : undefined;
  if (typeof lastEvent === 'string' && lastEvent !== '') after = parseCursor('Last-Event-ID', lastEvent);
  const token = url.searchParams.get('access_token');
  const authorization = request.headers.authorization ?? (token ? `Bearer ${token}` : undefined);
  return { route, after, authorization };
}

/**
 * The request's path and query as sent, with the value of every parameter that reads as
 * `access_token` (however its name is percent-encoded) replaced, for logs.
 */
export function redactedUrl(rawUrl: string | undefined): string {
  const [path = '', query] = (rawUrl ?? '').split(/\?(.*)/s, 2);
  if (query === undefined) return path.slice(0, 500);
  const pairs = query.split('&').map((pair) => {
    const name = pair.split('=', 1)[0]!;
    let decoded: string;
    try {
      decoded = decodeURIComponent(name.replaceAll('+', ' '));
    } catch {
      decoded = name;
    }
    return decoded === 'access_token' ? `${name}=REDACTED` : pair;
  });
  // Also where it is not a parameter of its own (`?x=1?access_token=…`): a token sent by mistake is still a token.
  return `${path}?${pairs.join('&')}`.replace(/(access(?:_|%5f)token(?:=|%3d))[^&#]*/gi, '$1REDACTED').slice(0, 500);
}
