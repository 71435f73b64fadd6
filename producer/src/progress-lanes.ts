/** Progress arguments as the lanes need them: the job's id, whatever else. */
interface ProgressArgs {
  id: string | number;
}

interface Waiter<Result> {
  resolve(result: Result): void;
  reject(error: unknown): void;
}

interface Lane<Args, Options, Result> {
  /** The update on its way to the server. */
  sending?: Promise<void>;
  /** The newest update not sent yet, and every caller it answers. */
  next?: { args: Args; options: Options | undefined; waiters: Array<Waiter<Result>> };
  lastSentAt: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Set by a drain: the window no longer holds the next update back. */
  urgent: boolean;
}

/**
 * Progress updates of each job, coalesced: at most one on its way and one waiting per job,
 * sent at most once per `windowMs`. A newer update replaces the waiting one, whose callers
 * then get the answer to the newer: the server's job as it was after it.
 */
export function createProgressLanes<Args extends ProgressArgs, Options, Result>(options: {
  /** Unset: no lane holds anything back (every update is its own send). */
  windowMs: number | undefined;
  send(args: Args, options: Options | undefined): Promise<Result>;
}) {
  const windowMs = options.windowMs ?? 0;
  const lanes = new Map<string, Lane<Args, Options, Result>>();

  function pump(id: string, lane: Lane<Args, Options, Result>): void {
    if (lane.sending || lane.timer) return;
    const next = lane.next;
    if (!next) {
      lanes.delete(id);
      return;
    }
    const wait = lane.urgent ? 0 : lane.lastSentAt + windowMs - Date.now();
    if (wait > 0) {
      lane.timer = setTimeout(() => {
        lane.timer = undefined;
        pump(id, lane);
      }, wait);
      return;
    }
    lane.next = undefined;
    lane.lastSentAt = Date.now();
    lane.sending = options.send(next.args, next.options).then(
      (result) => {
        for (const waiter of next.waiters) waiter.resolve(result);
      },
      (error: unknown) => {
        for (const waiter of next.waiters) waiter.reject(error);
      },
    );
    void lane.sending.then(() => {
      lane.sending = undefined;
      pump(id, lane);
    });
  }

  /** Resolves once the lane of job `id` has sent everything it held. */
  async function drain(jobId: string | number): Promise<void> {
    const id = String(jobId);
    for (;;) {
      const lane = lanes.get(id);
      if (!lane) return;
      lane.urgent = true;
      if (lane.timer) {
        clearTimeout(lane.timer);
        lane.timer = undefined;
        pump(id, lane);
      }
      await lane.sending;
      // The send's own continuation (which starts the next one) runs before this.
      await Promise.resolve();
    }
  }

  return {
    update(args: Args, callOptions?: Options): Promise<Result> {
      const id = String(args.id);
      let lane = lanes.get(id);
      if (!lane) lanes.set(id, (lane = { lastSentAt: 0, urgent: false }));
      const current = lane;
      return new Promise<Result>((resolve, reject) => {
        if (current.next) {
          current.next.args = args;
          current.next.options = callOptions;
          current.next.waiters.push({ resolve, reject });
          return;
        }
        current.next = { args, options: callOptions, waiters: [{ resolve, reject }] };
        pump(id, current);
      });
    },
    drain,
    drainAll: () => Promise.all([...lanes.keys()].map(drain)).then(() => {}),
    dispose(): void {
      for (const lane of lanes.values()) clearTimeout(lane.timer);
      lanes.clear();
    },
  };
}
