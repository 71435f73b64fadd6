/**
 * An async iterator fed by pushes: the bridge between a listener and GraphQL's
 * `for await`. `return()` and `throw()` run the teardown exactly once, so ending the
 * iteration from the consumer side always reaches the source.
 */
export class PushIterator<T> implements AsyncIterableIterator<T> {
  #buffer: T[] = [];
  #head = 0;
  #waiting: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;
  #done = false;
  /** No more values will be pushed; the iteration ends once the buffer is read. */
  #ending = false;
  /** Set by `fail`: the consumer's read after the buffer rejects with it. */
  #failure: { error: unknown } | undefined;
  #teardown: (() => void) | undefined;
  #taken = 0;

  /**
   * Called with each value as the consumer takes it: whoever drives the consumer learns which
   * value its next result comes from (a shared audience tracks its log position this way).
   */
  onTake: ((value: T) => void) | undefined;

  /**
   * Called when the consumer asks for a value and none is buffered: a source that produces on
   * demand (a replay read page by page) pushes the next ones then, so it never holds more
   * than the consumer is about to read.
   */
  onDrained: (() => void) | undefined;

  /**
   * @param maxBuffered values that may wait unread; one more ends the iteration and calls
   *   `onOverflow`, so a consumer that stops reading cannot grow memory without bound
   */
  constructor(
    public maxBuffered = Number.POSITIVE_INFINITY,
    private readonly onOverflow?: () => void,
  ) {}

  /** Set once the source is attached; runs at most once, when the iteration ends. */
  set teardown(teardown: () => void) {
    if (this.#done) teardown();
    else this.#teardown = teardown;
  }

  push(value: T): void {
    if (this.#done || this.#ending || this.#failure) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      this.#taken++;
      this.onTake?.(value);
      waiting.resolve({ value, done: false });
    } else if (this.buffered >= this.maxBuffered) {
      this.#finish();
      this.onOverflow?.();
    } else {
      this.#buffer.push(value);
    }
  }

  /** Values pushed but not yet taken. */
  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  /** Values the consumer has taken so far: whether it is still reading. */
  get taken(): number {
    return this.#taken;
  }

  /** Nothing pushed from now on will be delivered. */
  get closed(): boolean {
    return this.#done || this.#ending || this.#failure !== undefined;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head++]!;
      // Compact once the consumed prefix dominates, keeping shifts amortised O(1).
      if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      this.#taken++;
      this.onTake?.(value);
      return Promise.resolve({ value, done: false });
    }
    const failure = this.#failure;
    if (failure && !this.#done) {
      this.#finish();
      return Promise.reject(failure.error);
    }
    if (this.#ending) this.#finish();
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    const result = new Promise<IteratorResult<T>>((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
    this.onDrained?.();
    return result;
  }

  /**
   * Ends the iteration after what was pushed so far: the consumer reads the buffer, then the
   * iteration is done and the teardown runs.
   */
  end(): void {
    if (this.#done) return;
    this.#ending = true;
    if (this.buffered === 0) this.#finish();
  }

  /**
   * Ends the iteration with `error` after what was pushed so far: the consumer reads the
   * buffer, then its next read rejects with `error` and the teardown runs.
   */
  fail(error: unknown): void {
    if (this.closed) return;
    this.#failure = { error };
    const waiting = this.#waiting;
    if (!waiting) return;
    this.#waiting = undefined;
    this.#finish();
    waiting.reject(error);
  }

  return(): Promise<IteratorResult<T>> {
    this.#finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.#finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#buffer = [];
    this.#head = 0;
    this.onDrained = undefined;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
    const teardown = this.#teardown;
    this.#teardown = undefined;
    teardown?.();
  }
}
