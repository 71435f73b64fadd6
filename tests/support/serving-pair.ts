import { afterAll, beforeAll } from 'vitest';
import type { ServerProcess } from './processes.js';
import { freePort, spawnServer } from './processes.js';
import { REDIS_URL } from './redis.js';

/**
 * Two server processes on one Redis under `prefix`, for client tests: the one the client
 * under test talks to, on a port of its own so it can be killed and started again where the
 * client reconnects, and a publisher that keeps accepting changes meanwhile. Started before
 * the file's tests; every process, and any the tests `adopt`, is killed after them.
 */
export function createServingPair(prefix: string, publisherEnv: Record<string, string> = {}) {
  const processes: ServerProcess[] = [];
  let servingEnv: Record<string, string>;
  let serving: ServerProcess;
  const pair = {
    /** The serving instance's GraphQL URL (the same after a restart). */
    url: '',
    publisherUrl: '',
    /** Kills the serving instance at once, as a crash would. */
    async killServing() {
      serving.child.kill('SIGKILL');
      await serving.exited;
    },
    /** Starts the serving instance again, on its port. */
    async startServing() {
      serving = pair.adopt(spawnServer(servingEnv));
      await serving.listening;
    },
    /** A process the test started, killed with the others. */
    adopt(process: ServerProcess) {
      processes.push(process);
      return process;
    },
  };
  beforeAll(async () => {
    servingEnv = { PORT: String(await freePort()), REDIS_URL, REDIS_KEY_PREFIX: prefix };
    serving = pair.adopt(spawnServer(servingEnv));
    const publisher = pair.adopt(spawnServer({ REDIS_URL, REDIS_KEY_PREFIX: prefix, ...publisherEnv }));
    [pair.url, pair.publisherUrl] = await Promise.all([serving.listening, publisher.listening]);
  });
  afterAll(async () => {
    for (const process of processes) process.child.kill('SIGKILL');
    await Promise.all(processes.map((process) => process.exited));
  });
  return pair;
}
