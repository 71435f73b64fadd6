import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort } from '../tests/support/processes.js';
import { waitFor } from '../tests/support/wait-for.js';

/**
 * A `redis-server` of one benchmark row, so its CPU and command statistics are that row's
 * alone. Kept in memory (no RDB, no AOF), as the shared development Redis is: a benchmark of
 * the write path measures its commands, not the disk.
 */
export interface PrivateRedis {
  url: string;
  /** User plus system CPU the server used so far, in seconds (INFO cpu). */
  cpuSeconds(): Promise<number>;
  /** Per command since the last reset: calls and microseconds (INFO commandstats). */
  commandStats(): Promise<Map<string, { calls: number; usec: number }>>;
  /** Zeroes the command statistics (CONFIG RESETSTAT). */
  resetStats(): Promise<void>;
  /** The inspector connection, for reading what the row stored. */
  client: Redis;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  await waitFor(
    async () => {
      try {
        if (client.status === 'wait') await client.connect();
        return (await client.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    { what: `redis-server on port ${port}` },
  );
  return {
    url,
    client,
    async cpuSeconds() {
      const info = await client.info('cpu');
      return Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]);
    },
    async commandStats() {
      const totals = new Map<string, { calls: number; usec: number }>();
      for (const match of (await client.info('commandstats')).matchAll(/cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/g)) {
        totals.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
      }
      return totals;
    },
    async resetStats() {
      await client.config('RESETSTAT');
    },
    async stop() {
      client.disconnect();
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}
