import type { ExecutionResult } from 'graphql';
import { GraphQLError } from 'graphql';
import type { LogPosition } from '../events/event-record.js';
import { decodeCursor } from '../events/event-record.js';
import type { AudienceSourceTap } from '../events/event-streams.js';
import { isReplayStalled } from '../events/event-streams.js';
import { PushIterator } from '../events/push-iterator.js';
import type { Metrics } from '../observability/metrics.js';
import { sseNextEvent, stringifyResult } from './frames.js';

/** One result of a shared execution: serialised once, its frames built once per transport. */
export class SharedPayload {
  #sseFrame: Buffer | undefined;
  #jsonBytes: Buffer | undefined;

  constructor(
    readonly json: string,
    /** The log position of the event it was executed from. */
    readonly position: LogPosition | undefined,
    /** The SSE event carrying `json`. @default GraphQL over SSE's `next` event */
    private readonly sseEvent: (json: string) => string = sseNextEvent,
  ) {}

  /** `json` as UTF-8, encoded once for every member that writes it as it is (a text frame). */
  get jsonBytes(): Buffer {
    return (this.#jsonBytes ??= Buffer.from(this.json));
  }

  /** The SSE event, encoded once for every SSE member. */
  get sseFrame(): Buffer {
    return (this.#sseFrame ??= Buffer.from(this.sseEvent(this.json)));
  }
}

/**
 * How an audience writes its results: once per result, for every member. Members of one
 * audience are written the same payload, so the encoding is part of the audience's key.
 */
export type ResultEncoding = (result: ExecutionResult, position: LogPosition | undefined) => SharedPayload;

/** GraphQL results, as graphql-ws and GraphQL over SSE carry them. */
export const graphqlResults: ResultEncoding = (result, position) => new SharedPayload(stringifyResult(result), position);

/** A subscription on one connection, as an audience writes to it. */
export interface AudienceMember {
  /** The subscription field, for the subscriptions gauge. */
  readonly field: string;
  /** Writes one shared result. */
  send(payload: SharedPayload): void;
  /** Writes one result of its own (a replayed event); resolves once it was handed to the OS. */
  sendOwn(payload: SharedPayload): Promise<void>;
  /** Bytes written and not yet sent. */
  backlog(): number;
  isOpen(): boolean;
  /** It fell more than its budget behind: ends its connection as a slow consumer. */
  cutOff(): void;
}

interface Membership {
  member: AudienceMember;
  /** What the transport iterates for this subscription; it yields nothing and ends with the membership. */
  handle: PushIterator<never>;
  /** While the member replays on its own, the audience's results wait here. */
  waiting?: SharedPayload[];
  left: boolean;
}

interface Audience {
  projectId: string;
  members: Set<Membership>;
  encode: ResultEncoding;
  /** Resolves once the shared source is live, or with the result that refused it. */
  ready: Promise<ExecutionResult | undefined>;
  source?: AsyncIterator<ExecutionResult>;
  /**
   * The last log position the audience delivered to its members, or the one it started
   * after: every later event its filters accept reaches members that are present then.
   */
  position?: LogPosition;
  /** The event GraphQL took from the source last: the one the pending result comes from. */
  taken?: LogPosition;
}

/** How a subscription joins: how to start the shared execution, and for a resume, how to replay. */
export interface JoinRequest {
  key: string;
  /** The project the audience reads: each project may run a limited number of audiences. */
  projectId: string;
  /** The member's token subject: it holds one subscription slot while it is a member. */
  subject: string;
  member: AudienceMember;
  /** How the audience writes results; the key must tell encodings apart. @default graphqlResults */
  encode?: ResultEncoding;
  start(tap: AudienceSourceTap): Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;
  resume?: { after: string; replay(until: LogPosition): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> };
}

export interface AudienceOptions {
  metrics: Metrics;
  /** Bytes a connection may have waiting before it counts as a slow consumer. */
  outgoingBufferBytes: number;
  /** Shared results one member may have waiting while it replays, before it counts as slow. */
  maxQueuedEvents: number;
  /** How long one replayed result may take to be written before its member counts as slow. */
  replayStallMs: number;
  /** Takes one of the subject's subscription slots; undefined when it holds the most allowed. */
  holdSubscription(subject: string): (() => void) | undefined;
  /** Distinct audiences one project may run; a subscription that would start one more is refused. */
  maxAudiencesPerProject: number;
  onError(error: unknown): void;
}

function isAfter(position: LogPosition | undefined, cursor: LogPosition | undefined): boolean {
  return !position || !cursor || position.epoch !== cursor.epoch || position.seq > cursor.seq;
}

/**
 * Subscribers with the same operation, variables and rights form an audience: one
 * execution and one serialisation per event, after which each member's connection is
 * written the same payload, over WebSocket or SSE. Per event and member the work is a frame
 * (a string concatenation for WebSocket, nothing for SSE) and a write.
 *
 * A member that resumes from a cursor replays the events it missed on its own, up to the
 * position the audience had delivered when it joined; what the audience delivers meanwhile
 * waits, and is written after the replay. So the replay and the shared stream meet without a
 * gap or a repeat, while publishing goes on.
 */
export function createAudiences(options: AudienceOptions) {
  const { metrics, outgoingBufferBytes, maxQueuedEvents, replayStallMs, maxAudiencesPerProject } = options;
  const audiences = new Map<string, Audience>();
  /** Audiences running per project, for its limit. */
  const perProject = new Map<string, number>();

  function rateLimited(message: string): ExecutionResult {
    return { errors: [new GraphQLError(message, { extensions: { code: 'RATE_LIMITED' } })] };
  }

  /** Forgets a stopped audience, once. */
  function remove(key: string, audience: Audience): void {
    if (audiences.get(key) !== audience) return;
    audiences.delete(key);
    const count = perProject.get(audience.projectId)! - 1;
    if (count === 0) perProject.delete(audience.projectId);
    else perProject.set(audience.projectId, count);
  }

  function cutOff(membership: Membership): void {
    void membership.handle.return();
    membership.member.cutOff();
  }

  function deliver(membership: Membership, payload: SharedPayload): void {
    const { member } = membership;
    if (!member.isOpen()) return;
    // Writes are not awaited, so the connection's own buffer is the backlog to bound. A
    // member past it leaves at once, so nothing more queues up for it while it is closed.
    if (member.backlog() > outgoingBufferBytes) return cutOff(membership);
    member.send(payload);
    metrics.delivered();
  }

  function send(membership: Membership, payload: SharedPayload): void {
    const { waiting } = membership;
    if (!waiting) return deliver(membership, payload);
    if (waiting.length >= maxQueuedEvents) return cutOff(membership);
    waiting.push(payload);
  }

  async function pump(key: string, audience: Audience): Promise<void> {
    try {
      for (;;) {
        const next = await audience.source!.next();
        if (next.done) break;
        // Position and members are read in the same synchronous step as the writes: a member
        // joining later gets the next result, and replays up to this one.
        if (audience.taken) audience.position = audience.taken;
        const payload = audience.encode(next.value, audience.position);
        for (const membership of audience.members) send(membership, payload);
      }
    } catch (error) {
      options.onError(error);
    } finally {
      remove(key, audience);
      for (const membership of [...audience.members]) void membership.handle.return();
    }
  }

  function leave(key: string, audience: Audience, membership: Membership): void {
    if (membership.left) return;
    membership.left = true;
    membership.waiting = undefined;
    audience.members.delete(membership);
    metrics.subscriptions.dec({ field: membership.member.field, mode: 'shared' });
    if (audience.members.size > 0) return;
    remove(key, audience);
    void audience.source?.return?.();
  }

  function create(key: string, projectId: string, start: JoinRequest['start'], encode: ResultEncoding): Audience {
    const audience: Audience = { projectId, members: new Set(), encode, ready: Promise.resolve(undefined) };
    const tap: AudienceSourceTap = {
      opened: (position) => void (audience.position = position),
      taken: (event) => void (audience.taken = { epoch: event.epoch, seq: event.seq }),
    };
    audience.ready = (async () => {
      try {
        const result = await start(tap);
        if (!(Symbol.asyncIterator in result)) {
          remove(key, audience);
          return result;
        }
        audience.source = result[Symbol.asyncIterator]();
        void pump(key, audience);
        return undefined;
      } catch (error) {
        remove(key, audience);
        throw error;
      }
    })();
    audiences.set(key, audience);
    perProject.set(projectId, (perProject.get(projectId) ?? 0) + 1);
    return audience;
  }

  /** Whether `write` finished within the stall time. */
  async function written(write: Promise<void>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), replayStallMs)));
    try {
      return await Promise.race([write.then(() => true as const), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes the member's private replay, then what the audience delivered meanwhile. */
  async function replayThenJoin(
    membership: Membership,
    resume: NonNullable<JoinRequest['resume']>,
    until: LogPosition,
    encode: ResultEncoding,
  ) {
    const replayed = await resume.replay(until);
    if (!(Symbol.asyncIterator in replayed)) return replayed;
    const iterator = replayed[Symbol.asyncIterator]();
    try {
      for (;;) {
        if (membership.left || !membership.member.isOpen()) return undefined;
        let next: IteratorResult<ExecutionResult>;
        try {
          next = await iterator.next();
        } catch (error) {
          // The replay's client stopped reading (its event stream timed it out), or the log
          // failed mid-replay: either way the member must not join with a gap.
          if (isReplayStalled(error)) {
            cutOff(membership);
            return undefined;
          }
          throw error;
        }
        if (next.done) break;
        // Replayed bytes count against the connection's budget like live ones: several
        // replays on one socket each wait for their own write, but share its buffer.
        if (membership.member.backlog() > outgoingBufferBytes) {
          cutOff(membership);
          return undefined;
        }
        // Awaited: a long replay goes at the pace the client reads it. A write that is not
        // taken by the OS within the stall time means the client stopped reading.
        if (!(await written(membership.member.sendOwn(encode(next.value, undefined))))) {
          cutOff(membership);
          return undefined;
        }
        metrics.delivered();
      }
    } finally {
      await iterator.return?.();
    }
    const waiting = membership.waiting ?? [];
    membership.waiting = undefined;
    // A cursor ahead of this audience (from a faster instance) already covers some of them.
    const cursor = decodeCursor(resume.after);
    for (const payload of waiting) if (isAfter(payload.position, cursor)) deliver(membership, payload);
    return undefined;
  }

  return {
    /**
     * Adds a subscription to the audience `key`, starting the audience with `start` when it is
     * the first. With `resume`, first replays after its cursor on its own. Returns what the
     * transport should iterate for this subscription, or the result that refused it.
     */
    async join({ key, projectId, subject, member, start, resume, encode = graphqlResults }: JoinRequest): Promise<AsyncIterableIterator<never> | ExecutionResult> {
      const releaseSlot = options.holdSubscription(subject);
      if (!releaseSlot) return rateLimited('this token already holds the most subscriptions allowed; end one before starting another');
      let audience = audiences.get(key);
      if (!audience) {
        // A project's audiences each cost an execution per event: distinct ones are bounded.
        if ((perProject.get(projectId) ?? 0) >= maxAudiencesPerProject) {
          releaseSlot();
          return rateLimited(`this project already runs ${maxAudiencesPerProject} distinct subscriptions; share one or end one`);
        }
        audience = create(key, projectId, start, encode);
      }
      let refused: ExecutionResult | undefined;
      try {
        refused = await audience.ready;
      } catch (error) {
        releaseSlot();
        throw error;
      }
      if (refused) {
        releaseSlot();
        return refused;
      }
      const membership: Membership = { member, handle: new PushIterator<never>(), waiting: resume ? [] : undefined, left: false };
      // Reading the position and joining happen in one synchronous step: everything after it
      // comes from the audience, everything up to it from the replay.
      const until = audience.position!;
      audience.members.add(membership);
      metrics.subscriptions.inc({ field: member.field, mode: 'shared' });
      const joined = audience;
      membership.handle.teardown = () => {
        releaseSlot();
        leave(key, joined, membership);
      };
      if (!resume) return membership.handle;
      try {
        const refusedReplay = await replayThenJoin(membership, resume, until, audience.encode);
        if (refusedReplay) {
          void membership.handle.return();
          return refusedReplay;
        }
      } catch (error) {
        void membership.handle.return();
        throw error;
      }
      return membership.handle;
    },
    /** Audiences running. */
    count: () => audiences.size,
    /** Subscriptions taking part in an audience. */
    memberCount: () => {
      let members = 0;
      for (const audience of audiences.values()) members += audience.members.size;
      return members;
    },
  };
}

export type Audiences = ReturnType<typeof createAudiences>;
