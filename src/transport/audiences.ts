import type { ExecutionResult } from 'graphql';
import type WebSocket from 'ws';
import { PushIterator } from '../events/push-iterator.js';
import type { Metrics } from '../observability/metrics.js';

/** A subscription on one socket that shares its audience's execution. */
interface Member {
  socket: WebSocket;
  /** The subscription field, for the subscriptions gauge. */
  field: string;
  /** The start of every frame to this operation, `{"id":…,"type":"next","payload":`, built once. */
  framePrefix: string;
  /** What graphql-ws iterates for this operation; it yields nothing and ends with the audience. */
  handle: PushIterator<never>;
}

interface Audience {
  members: Set<Member>;
  /** Resolves once the shared source is live, or with the result that refused it. */
  ready: Promise<ExecutionResult | undefined>;
  source?: AsyncIterator<ExecutionResult>;
}

export interface AudienceOptions {
  metrics: Metrics;
  /** Bytes a socket may have waiting before it counts as a slow consumer. */
  outgoingBufferBytes: number;
  onSlowConsumer(socket: WebSocket): void;
  onError(error: unknown): void;
}

/**
 * Subscribers with the same operation, variables and rights form an audience: one
 * execution and one serialisation per event, after which each member's socket is written
 * the same payload bytes under its own operation id. Per event and member the work is a
 * string concatenation and a socket write.
 */
export function createAudiences(options: AudienceOptions) {
  const { metrics, outgoingBufferBytes } = options;
  const audiences = new Map<string, Audience>();

  function send(member: Member, payloadJson: string): void {
    const { socket } = member;
    if (socket.readyState !== socket.OPEN) return;
    // Writes are not awaited, so the socket's own buffer is the backlog to bound. A member
    // past it leaves at once, so nothing more queues up for it while it is being closed.
    if (socket.bufferedAmount > outgoingBufferBytes) {
      void member.handle.return();
      options.onSlowConsumer(socket);
      return;
    }
    socket.send(`${member.framePrefix}${payloadJson}}`);
    metrics.delivered();
  }

  async function pump(key: string, audience: Audience): Promise<void> {
    try {
      for (;;) {
        const next = await audience.source!.next();
        if (next.done) break;
        const payloadJson = JSON.stringify(next.value);
        for (const member of audience.members) send(member, payloadJson);
      }
    } catch (error) {
      options.onError(error);
    } finally {
      if (audiences.get(key) === audience) audiences.delete(key);
      for (const member of [...audience.members]) void member.handle.return();
    }
  }

  function leave(key: string, audience: Audience, member: Member): void {
    audience.members.delete(member);
    metrics.subscriptions.dec({ field: member.field });
    if (audience.members.size > 0) return;
    if (audiences.get(key) === audience) audiences.delete(key);
    void audience.source?.return?.();
  }

  return {
    /**
     * Adds an operation to the audience `key`, starting the audience with `start` when it
     * is the first. Returns what graphql-ws should iterate for this operation, or the
     * result that refused the subscription.
     */
    async join(
      { key, socket, id, field }: { key: string; socket: WebSocket; id: string; field: string },
      start: () => Promise<AsyncIterable<ExecutionResult> | ExecutionResult>,
    ): Promise<AsyncIterableIterator<never> | ExecutionResult> {
      let audience = audiences.get(key);
      if (!audience) {
        const created: Audience = { members: new Set(), ready: Promise.resolve(undefined) };
        created.ready = (async () => {
          try {
            const result = await start();
            if (!(Symbol.asyncIterator in result)) {
              audiences.delete(key);
              return result;
            }
            created.source = result[Symbol.asyncIterator]();
            void pump(key, created);
            return undefined;
          } catch (error) {
            audiences.delete(key);
            throw error;
          }
        })();
        audiences.set(key, (audience = created));
      }
      const joined = audience;
      const refused = await joined.ready;
      if (refused) return refused;
      const framePrefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
      const member: Member = { socket, framePrefix, field, handle: new PushIterator<never>() };
      member.handle.teardown = () => leave(key, joined, member);
      joined.members.add(member);
      metrics.subscriptions.inc({ field });
      return member.handle;
    },
    /** Audiences running. */
    count: () => audiences.size,
    /** Operations taking part in an audience. */
    memberCount: () => {
      let members = 0;
      for (const audience of audiences.values()) members += audience.members.size;
      return members;
    },
  };
}
