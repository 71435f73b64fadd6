import type { Logger } from 'pino';
import type { StateStore } from '../store/state-store.js';

export interface RecordSweeper {
  /** Drops the expired records of projects that stopped writing now; resolves with how many projects it looked at. */
  sweep(): Promise<number>;
  start(): void;
  /** Stops sweeping; resolves once a sweep under way has ended. */
  stop(): Promise<void>;
}

/**
 * Keeps a store's idempotency records to their window where nothing else would: the
 * commits of a project drop its expired records as they go, and this sweep drops those of
 * projects that no longer commit. Every instance sweeps, a quarter of a window apart (1 s to
 * 1 h); a sweep only deletes what has expired, so sweeps on several instances agree.
 */
export function createRecordSweeper(dependencies: { store: StateStore; windowMs: number; logger: Logger }): RecordSweeper {
  const { store, windowMs, logger } = dependencies;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  const sweeper: RecordSweeper = {
    sweep() {
      running ??= (store.pruneRecords?.() ?? Promise.resolve(0)).finally(() => (running = undefined));
      return running;
    },
    start() {
      if (!store.pruneRecords) return;
      timer ??= setInterval(
        () => {
          sweeper.sweep().catch((error: unknown) => logger.warn({ err: error }, 'sweep for expired idempotency records failed; the next one tries again'));
        },
        Math.min(3_600_000, Math.max(1000, windowMs / 4)),
      ).unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => {});
    },
  };
  return sweeper;
}
