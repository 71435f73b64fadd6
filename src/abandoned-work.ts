import type { Logger } from 'pino';
import type { AgentService } from './agent/agent-service.js';
import { DomainError } from './errors.js';
import type { IngestService } from './ingest/ingest-service.js';
import type { EntityKind, StateStore } from './store/state-store.js';
import { EntityNotIdle } from './store/state-store.js';
import type { WorkflowService } from './workflow/workflow-service.js';

/** Idle entities one sweep fails per project, so one sweep is never long. */
const PER_PROJECT = 100;

export interface AbandonedWorkSweeper {
  /** Fails what has been idle too long now; resolves with how many it failed. */
  sweep(): Promise<number>;
  start(): void;
  /** Stops sweeping; resolves once a sweep under way has ended. */
  stop(): Promise<void>;
}

/**
 * Fails work whose producer vanished: a job or run that saw no change (a commit, or a piece
 * of streamed text) for `afterMs` is failed with an error that says so, and a run's
 * streaming messages are finished first, with the usual events.
 *
 * Every instance sweeps, and each failure is exactly once however many do: it is an ordinary
 * change, checked against the entity's version, made only if the entity is still open and
 * still idle (`ifIdleSince`, checked in the commit itself), so a producer that changes its
 * work in the meantime keeps it open.
 */
export function createAbandonedWorkSweeper(dependencies: {
  store: StateStore;
  ingest: IngestService;
  agent: AgentService;
  workflow: WorkflowService;
  afterMs: number;
  now: () => number;
  logger: Logger;
}): AbandonedWorkSweeper {
  const { store, afterMs, now, logger } = dependencies;
  const reason = `abandoned: no change for ${afterMs / 1000} s (ABANDONED_AFTER_SECONDS), so its producer is taken to be gone`;
  const abandon: { readonly [K in EntityKind]: (id: string, idleSince: number) => Promise<unknown> } = {
    ingestJob: (id, idleSince) => dependencies.ingest.abandon(id, idleSince, reason),
    agentRun: (id, idleSince) => dependencies.agent.abandon(id, idleSince, reason),
    workflowRun: (id, idleSince) => dependencies.workflow.abandon(id, idleSince),
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function sweepOnce(): Promise<number> {
    const idleSince = now() - afterMs;
    let failed = 0;
    for (const projectId of await store.activeProjects()) {
      const idle = await store.idleEntities(projectId, idleSince, PER_PROJECT);
      if (idle.length === 0) await store.forgetIfInactive(projectId, idleSince);
      for (const { kind, id } of idle) {
        try {
          await abandon[kind](id, idleSince);
          failed++;
          logger.warn({ projectId, kind, id, afterMs }, 'failed work whose producer made no change for too long');
        } catch (error) {
          // Changed meanwhile: it stays, and is looked at again once idle.
          if (error instanceof EntityNotIdle) continue;
          // Finished (by another instance first, say) or gone: nothing left to look at.
          if (error instanceof DomainError) {
            await store.forgetActive(projectId, { kind, id });
            continue;
          }
          throw error;
        }
      }
    }
    return failed;
  }

  const sweeper: AbandonedWorkSweeper = {
    sweep() {
      // One sweep at a time per instance; a caller during one waits for it.
      running ??= sweepOnce().finally(() => (running = undefined));
      return running;
    },
    start() {
      const every = Math.min(30_000, Math.max(1000, afterMs / 4));
      timer ??= setInterval(() => {
        sweeper.sweep().catch((error: unknown) => logger.warn({ err: error }, 'sweep for abandoned work failed; the next one tries again'));
      }, every).unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      // A sweep under way finishes before the clients it uses are closed.
      await running?.catch(() => {});
    },
  };
  return sweeper;
}
