import type { ResultOf, TypedDocumentNode, VariablesOf } from '@graphql-typed-document-node/core';
import { getOperationAST, print } from 'graphql';
import type { FieldNode } from 'graphql';
import { ProducerError } from './errors.js';
import type { AgentMessageWriter } from './message-writer.js';
import { createMessageWriter } from './message-writer.js';
import { AppendStreamedPiece, MUTATIONS } from './operations.js';
import { createProgressLanes } from './progress-lanes.js';
import type { RetryOptions } from './retry.js';
import { backoffDelay, pause, resolveRetryOptions } from './retry.js';
import type { FetchLike, OperationAnswer, Transport } from './transport.js';
import { createHttpTransport } from './transport.js';
import { createBatchTransport } from './batch-transport.js';
import { createWebSocketTransport } from './websocket-transport.js';

/** A token, or a function that returns one; the function is asked again after a 401. */
export type TokenSource = string | (() => string | Promise<string>);

export interface ProducerOptions {
  /** The GraphQL endpoint, for example `https://events.example.com/graphql`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; a function is called again when the server refuses its token. */
  token?: TokenSource;
  retry?: RetryOptions;
  /**
   * Text appended to a streamed message within this window goes to the server as one piece
   * (0: each piece is sent as soon as the one before it is stored). The default is the
   * server's own delta window: the server sends a piece that comes a window after its last
   * at once, so a reader sees text about one window after it was appended, and a model
   * writing 50 tokens a second costs about 17 calls a second.
   * @default 50
   */
  appendWindowMs?: number;
  /**
   * When set, progress updates of one ingest job are sent at most once per this many
   * milliseconds: a newer update replaces one that has not been sent yet (the latest wins),
   * and completion or failure of the job waits for the last progress. Unset: every update is sent.
   */
  coalesceProgressMs?: number;
  /**
   * How operations reach the server, cheapest first (see `npm run bench:producer`):
   * `websocket`, one graphql-ws socket for every call; `batch`, POSTs that carry the
   * operations ready within `batchWindowMs` together; `http`, one POST per operation over
   * keep-alive connections. The default is `websocket` where there is a WebSocket
   * (`webSocketImpl`, or a global one), else `http`.
   */
  transport?: 'websocket' | 'http' | 'batch';
  /** A WebSocket class, where there is no global one (Node 20: `import WebSocket from 'ws'`). */
  webSocketImpl?: unknown;
  /** How long operations wait for others to share a batch, in milliseconds. @default 5 */
  batchWindowMs?: number;
  /** The most operations in one batch (the server's limit). @default 10 */
  maxBatchSize?: number;
  /** A WHATWG `fetch`. @default globalThis.fetch */
  fetch?: FetchLike;
}

/** Per call: how to retry it. */
export interface CallOptions {
  /**
   * The call's idempotency key: the producer makes one per call. Pass one of your own to
   * retry a call across restarts of your process (the server keeps keys for its idempotency window).
   */
  idempotencyKey?: string;
  /** Overrides `retry.deadlineMs` for this call. */
  deadlineMs?: number;
  /** Stops retrying (and the attempt in flight) when it aborts. */
  signal?: AbortSignal;
}

type Mutations = typeof MUTATIONS;
export type MutationName = keyof Mutations;
/** The arguments of mutation `Name`, as one object. */
export type MutationArgs<Name extends MutationName> = VariablesOf<Mutations[Name]>;
/** What mutation `Name` resolves to. */
export type MutationResult<Name extends MutationName> = ResultOf<Mutations[Name]> extends infer Result
  ? Result[Name & keyof Result]
  : never;

/** One method per mutation of the API, named as the mutation. */
export type ProducerMutations = {
  [Name in MutationName]: (args: MutationArgs<Name>, options?: CallOptions) => Promise<MutationResult<Name>>;
};

export type AgentMessage = MutationResult<'finishAgentMessage'>;
export type MessageRole = MutationArgs<'startAgentMessage'>['role'];

export interface Producer extends ProducerMutations {
  /**
   * Starts a streaming message in run `runId` and resolves to its writer.
   * @example await (await producer.streamAgentMessage({ runId, role: 'ASSISTANT' })).pipe(modelTokens)
   */
  streamAgentMessage(args: { runId: string; role: MessageRole }, options?: CallOptions): Promise<AgentMessageWriter<AgentMessage>>;
  /**
   * Sends what is waiting (streamed text, coalesced progress), lets calls in flight finish
   * (each within its deadline), then releases connections and timers. Later calls reject with
   * PRODUCER_CLOSED. Idempotent.
   */
  close(): Promise<void>;
}

interface Operation {
  query: string;
  operationName: string;
  field: string;
}

const operations = new WeakMap<object, Operation>();

function operationOf(document: TypedDocumentNode<any, any>): Operation {
  let operation = operations.get(document);
  if (!operation) {
    const ast = getOperationAST(document);
    const field = ast?.selectionSet.selections[0] as FieldNode | undefined;
    if (!ast?.name || !field) throw new Error('a producer document must be a named operation');
    operation = { query: print(document), operationName: ast.name.value, field: field.alias?.value ?? field.name.value };
    operations.set(document, operation);
  }
  return operation;
}

/** A key nobody else will make: 122 random bits. */
const newIdempotencyKey = () => globalThis.crypto.randomUUID();

function createTokens(source: TokenSource | undefined) {
  let current: Promise<string> | undefined;
  return {
    refreshable: typeof source === 'function',
    get(): Promise<string | undefined> {
      if (typeof source !== 'function') return Promise.resolve(source);
      if (current) return current;
      const asked: Promise<string> = Promise.resolve()
        .then(source)
        .catch((error: unknown) => {
          if (current === asked) current = undefined;
          throw new ProducerError('TOKEN_UNAVAILABLE', `the token function failed: ${(error as Error)?.message ?? error}`, {
            retryable: false,
            cause: error,
          });
        });
      current = asked;
      return asked;
    },
    /**
     * Forgets the token a call saw refused, so the next `get` asks the function again: once,
     * however many calls in flight saw the same token refused.
     */
    refused(stale: Promise<string | undefined>): void {
      if (current === stale) current = undefined;
    },
  };
}

/** The failure an answer carries, or undefined when it holds the field's result. */
function failureOf(answer: OperationAnswer, field: string): ProducerError | undefined {
  const error = answer.errors?.[0];
  if (!error && answer.data?.[field] != null) return undefined;
  const extensions = error?.extensions ?? {};
  const code = typeof extensions.code === 'string' ? extensions.code : answer.status && answer.status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_RESPONSE';
  const retryAfterSeconds = typeof extensions.retryAfter === 'number' ? extensions.retryAfter : undefined;
  return new ProducerError(code, error?.message ?? `the answer holds no ${field}`, {
    extensions,
    status: answer.status,
    retryAfterMs: answer.retryAfterMs ?? (retryAfterSeconds === undefined ? undefined : retryAfterSeconds * 1000),
  });
}

/**
 * A producer of events: one typed method per mutation, each sent exactly once however often
 * it must be retried, and writers for streamed messages.
 *
 * @remarks
 * Every call carries an idempotency key of its own. What may not have happened (no answer, a
 * reset connection, a timeout, SERVICE_UNAVAILABLE, 5xx, CONFLICT, RATE_LIMITED) is sent again
 * with the same key, after a jittered exponential pause (at least the server's `Retry-After`),
 * until `retry.deadlineMs`. What would come out the same again (BAD_USER_INPUT, NOT_FOUND,
 * INVALID_TRANSITION, FORBIDDEN, IDEMPOTENCY_KEY_REUSED, OFFSET_MISMATCH) rejects at once.
 */
export function createProducer(options: ProducerOptions): Producer {
  const retry = resolveRetryOptions(options.retry);
  const fetchImpl = (options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch) as FetchLike;
  if (!fetchImpl && options.transport !== 'websocket') throw new Error('createProducer needs a fetch: pass options.fetch where there is no global one');
  const tokens = createTokens(options.token);
  const webSocketImpl = options.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket;
  const kind = options.transport ?? (webSocketImpl ? 'websocket' : 'http');
  if (kind === 'websocket' && !webSocketImpl) throw new Error('transport "websocket" needs a WebSocket: pass options.webSocketImpl');
  const transport: Transport =
    kind === 'websocket'
      ? createWebSocketTransport(options.url, webSocketImpl, () => tokens.get())
      : kind === 'batch'
        ? createBatchTransport(options.url, fetchImpl, { windowMs: options.batchWindowMs ?? 5, maxBatchSize: options.maxBatchSize ?? 10 })
        : createHttpTransport(options.url, fetchImpl);
  const appendWindowMs = options.appendWindowMs ?? 50;
  /** One per call in flight: close() aborts them (one listener each, not one per call on a shared signal). */
  const liveCalls = new Set<AbortController>();
  let accepting = true;
  let closed: Promise<void> | undefined;
  /** Calls in flight, so close() can let them finish. */
  const inFlight = new Set<Promise<unknown>>();
  const writers = new Set<AgentMessageWriter<AgentMessage>>();

  async function attempt(
    operation: Operation,
    variables: Record<string, unknown>,
    key: string,
    signal: AbortSignal,
    remainingMs: number,
    pending: Promise<string | undefined>,
  ) {
    const token = await pending;
    const controller = new AbortController();
    const timeoutMs = Math.max(1, Math.min(retry.requestTimeoutMs, remainingMs));
    const timer = setTimeout(
      () => controller.abort(new ProducerError('TIMEOUT', `no answer within ${timeoutMs} ms; the outcome is unknown`)),
      timeoutMs,
    );
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const answer = await transport.send(
        { query: operation.query, operationName: operation.operationName, variables, idempotencyKey: key },
        token,
        controller.signal,
      );
      return answer;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async function execute<Document extends TypedDocumentNode<any, any>>(
    document: Document,
    variables: VariablesOf<Document>,
    callOptions: CallOptions = {},
  ): Promise<any> {
    const operation = operationOf(document);
    const key = callOptions.idempotencyKey ?? newIdempotencyKey();
    const deadline = Date.now() + (callOptions.deadlineMs ?? retry.deadlineMs);
    const controller = new AbortController();
    liveCalls.add(controller);
    const callerSignal = callOptions.signal;
    const onCallerAbort = () => controller.abort(new ProducerError('ABORTED', 'the call was aborted', { retryable: false, cause: callerSignal?.reason }));
    if (callerSignal?.aborted) onCallerAbort();
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      return await retried(operation, variables as Record<string, unknown>, key, deadline, controller.signal);
    } finally {
      liveCalls.delete(controller);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  async function retried(operation: Operation, variables: Record<string, unknown>, key: string, deadline: number, signal: AbortSignal): Promise<any> {
    let attempts = 0;
    let retries = 0;
    let refreshedToken = false;
    for (;;) {
      attempts++;
      let failure: ProducerError;
      // The token this attempt presents (over a WebSocket, the one its connection presents,
      // from the same cache): forgotten when it is refused.
      const token = tokens.get();
      try {
        const answer = await attempt(operation, variables, key, signal, deadline - Date.now(), token);
        const refused = failureOf(answer, operation.field);
        if (!refused) return answer.data![operation.field];
        failure = refused;
      } catch (error) {
        if (!(error instanceof ProducerError)) throw error;
        failure = error;
      }
      if (signal.aborted) throw failure.withAttempts(attempts, key);
      if (failure.code === 'UNAUTHENTICATED' && tokens.refreshable && !refreshedToken) {
        // An expired token: ask for a new one and try again at once, but only once in a row,
        // so a token function that keeps returning a refused token does not loop.
        refreshedToken = true;
        tokens.refused(token);
        continue;
      }
      refreshedToken = false;
      if (!failure.retryable) throw failure.withAttempts(attempts, key);
      const wait = Math.max(backoffDelay(retries++, retry), failure.retryAfterMs ?? 0);
      if (Date.now() + wait > deadline) throw failure.withAttempts(attempts, key);
      try {
        await pause(wait, signal);
      } catch {
        throw failure.withAttempts(attempts, key);
      }
    }
  }

  /** Runs a call, counted as in flight until it settles. */
  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  const refusedAfterClose = () => new ProducerError('PRODUCER_CLOSED', 'the producer was closed', { retryable: false });

  /** Sends a mutation, also while closing: work accepted before close() is still done. */
  function dispatch<Name extends MutationName>(name: Name, args: MutationArgs<Name>, callOptions?: CallOptions): Promise<MutationResult<Name>> {
    return track(execute(MUTATIONS[name], args as never, callOptions));
  }

  function call<Name extends MutationName>(name: Name, args: MutationArgs<Name>, callOptions?: CallOptions): Promise<MutationResult<Name>> {
    if (!accepting) return Promise.reject(refusedAfterClose());
    return dispatch(name, args, callOptions);
  }

  const progress = createProgressLanes<MutationArgs<'updateIngestJobProgress'>, CallOptions, MutationResult<'updateIngestJobProgress'>>({
    windowMs: options.coalesceProgressMs,
    send: (args, callOptions) => dispatch('updateIngestJobProgress', args, callOptions),
  });

  const methods = {} as ProducerMutations;
  for (const name of Object.keys(MUTATIONS) as MutationName[]) {
    (methods as Record<string, unknown>)[name] = (args: never, callOptions?: CallOptions) => call(name, args, callOptions);
  }
  if (options.coalesceProgressMs !== undefined) {
    methods.updateIngestJobProgress = (args, callOptions) => {
      if (!accepting) return Promise.reject(refusedAfterClose());
      return progress.update(args, callOptions);
    };
    // Completion and failure are never dropped, and never overtake the last progress.
    methods.completeIngestJob = async (args, callOptions) => {
      if (!accepting) throw refusedAfterClose();
      await progress.drain(args.id);
      return dispatch('completeIngestJob', args, callOptions);
    };
    methods.failIngestJob = async (args, callOptions) => {
      if (!accepting) throw refusedAfterClose();
      await progress.drain(args.id);
      return dispatch('failIngestJob', args, callOptions);
    };
  }

  async function streamAgentMessage(args: { runId: string; role: MessageRole }, callOptions?: CallOptions) {
    const message = await call('startAgentMessage', args, callOptions);
    if (!accepting) {
      // Started while the producer was closing: nobody can write to it any more.
      throw refusedAfterClose();
    }
    const writer = createMessageWriter<AgentMessage>({
      id: message.id,
      runId: args.runId,
      windowMs: appendWindowMs,
      transport: {
        appendPiece: async (text, offset) => {
          await track(execute(AppendStreamedPiece, { runId: args.runId, messageId: message.id, text, offset }));
        },
        finish: () => track(execute(MUTATIONS.finishAgentMessage, { runId: args.runId, messageId: message.id })),
      },
      onDone: () => writers.delete(writer),
    });
    writers.add(writer);
    return writer;
  }

  function close(): Promise<void> {
    closed ??= (async () => {
      accepting = false;
      // Pending work first: streamed text and the last progress of each job are not dropped.
      await Promise.allSettled([...[...writers].map((writer) => writer.flush()), progress.drainAll()]);
      while (inFlight.size) await Promise.allSettled([...inFlight]);
      for (const controller of liveCalls) controller.abort(refusedAfterClose());
      progress.dispose();
      await transport.close();
    })();
    return closed;
  }

  return { ...methods, streamAgentMessage, close };
}
