import { ProducerError } from './errors.js';

/** The most text one append may carry (the server's limit). */
export const MAX_PIECE_LENGTH = 10_000;

/**
 * A streaming message being written. Text goes to the server in order, each piece at its
 * offset, so no retry can store a piece twice or out of place.
 */
export interface AgentMessageWriter<Message> {
  /** The message's id. */
  readonly id: string;
  readonly runId: string;
  /**
   * Adds `text` to the message. Pieces appended within the producer's `appendWindowMs` of
   * the first one waiting go to the server as one piece, once the piece before is stored.
   * @returns resolves once `text` and everything before it is stored
   */
  append(text: string): Promise<void>;
  /** Sends whatever is waiting now, without waiting for the window. Resolves once all of it is stored. */
  flush(): Promise<void>;
  /** Stores what is waiting, then marks the message COMPLETE. Resolves with the complete message. */
  finish(): Promise<Message>;
  /**
   * Appends every piece of `pieces` (a model's token stream), then finishes. If `pieces`
   * throws, what it yielded before is still stored, the message stays STREAMING, and the
   * error is rethrown.
   */
  pipe(pieces: AsyncIterable<string>): Promise<Message>;
}

export interface WriterTransport<Message> {
  /** Stores `text` at `offset`; resolves once it is stored, rejects with a final ProducerError. */
  appendPiece(text: string, offset: number): Promise<void>;
  finish(): Promise<Message>;
}

/** The largest prefix of `text` of at most `limit` UTF-16 units that does not split a surrogate pair. */
function cutAt(text: string, limit: number): number {
  if (text.length <= limit) return text.length;
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}

/**
 * A writer over `transport`: it buffers what is appended for `windowMs` from the first piece
 * waiting, sends one piece at a time at the offset where it starts, and resolves each
 * `append` once its text is stored. Text that arrives while a piece is on its way waits for
 * its own window too, so pieces reach the server at least a window apart, and the server,
 * whose delta window is the same, sends each on at once instead of holding it for a second
 * window.
 */
export function createMessageWriter<Message>(options: {
  id: string;
  runId: string;
  windowMs: number;
  transport: WriterTransport<Message>;
  /** Called once the writer has nothing more to send (finished or failed). */
  onDone?: () => void;
}): AgentMessageWriter<Message> {
  const { id, runId, windowMs, transport } = options;
  /** Text appended but not yet sent. */
  let waiting = '';
  /** Where the next piece starts: everything before it was sent (and stored, or in flight). */
  let sentUpTo = 0;
  /** Everything before this is stored. */
  let stored = 0;
  let sending = false;
  /** Text up to this offset was asked to go without waiting for its window (`flush`). */
  let urgentUpTo = 0;
  /** When the oldest text in `waiting` was appended (performance.now()). */
  let waitingSince = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failure: ProducerError | undefined;
  let finishing: Promise<Message> | undefined;
  /** Appends waiting to be stored, each with the offset its text ends at. */
  const waiters: Array<{ end: number; resolve: () => void; reject: (error: unknown) => void }> = [];

  const settle = () => {
    while (waiters.length && waiters[0]!.end <= stored) waiters.shift()!.resolve();
  };

  const fail = (error: unknown) => {
    failure =
      error instanceof ProducerError
        ? error
        : new ProducerError('NETWORK_ERROR', `could not store streamed text: ${(error as Error).message}`, { cause: error });
    clearTimeout(timer);
    timer = undefined;
    for (const waiter of waiters.splice(0)) waiter.reject(failure);
    options.onDone?.();
  };

  function schedule(): void {
    if (failure || sending || waiting === '') return;
    const due = waitingSince + windowMs - performance.now();
    if (urgentUpTo > sentUpTo || due <= 0) {
      clearTimeout(timer);
      timer = undefined;
      sendNext();
      return;
    }
    timer ??= setTimeout(() => {
      timer = undefined;
      sendNext();
    }, due);
  }

  function sendNext(): void {
    if (failure || sending || waiting === '') return;
    const length = cutAt(waiting, MAX_PIECE_LENGTH);
    const piece = waiting.slice(0, length);
    waiting = waiting.slice(length);
    const offset = sentUpTo;
    sentUpTo += piece.length;
    sending = true;
    transport.appendPiece(piece, offset).then(
      () => {
        sending = false;
        stored = offset + piece.length;
        settle();
        // What arrived during the round trip goes once its own window is over (at once if it is).
        if (waiting !== '') schedule();
      },
      (error: unknown) => {
        sending = false;
        fail(error);
      },
    );
  }

  function append(text: string): Promise<void> {
    if (failure) return Promise.reject(failure);
    if (finishing) return Promise.reject(new ProducerError('INVALID_TRANSITION', `message "${id}" is being finished: nothing can be appended`));
    if (waiting === '') waitingSince = performance.now();
    waiting += text;
    const end = sentUpTo + waiting.length;
    if (end <= stored) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => waiters.push({ end, resolve, reject }));
    schedule();
    return done;
  }

  function flush(): Promise<void> {
    if (failure) return Promise.reject(failure);
    const end = sentUpTo + waiting.length;
    if (end <= stored) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => waiters.push({ end, resolve, reject }));
    urgentUpTo = end;
    schedule();
    return done;
  }

  function finish(): Promise<Message> {
    finishing ??= (async () => {
      await flush();
      try {
        return await transport.finish();
      } finally {
        options.onDone?.();
      }
    })();
    return finishing;
  }

  async function pipe(pieces: AsyncIterable<string>): Promise<Message> {
    try {
      for await (const piece of pieces) {
        if (failure) throw failure;
        // Not awaited: pieces keep arriving while earlier ones are on their way, and are
        // merged. A failure surfaces at the next piece, or in finish().
        append(piece).catch(() => {});
      }
    } catch (error) {
      if (error === failure) throw error;
      // The source failed: what it gave before is kept, then its error goes to the caller.
      await flush();
      throw error;
    }
    return finish();
  }

  return { id, runId, append, flush, finish, pipe };
}
