import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { spawnServer } from '../tests/support/processes.js';

/** The server under test, in a process of its own so its CPU and memory can be read apart. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** Resident memory now and at its peak, in MiB. */
  memory(): { rssMiB: number; peakRssMiB: number };
  /** User plus system CPU time used so far, in milliseconds. */
  cpuMs(): number;
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_SECOND = 100;

export async function startServerProcess(env: Record<string, string>, script?: string): Promise<ServerProcess> {
  const server = spawnServer({ LOG_LEVEL: 'info', ...env }, script);
  server.child.stderr!.pipe(process.stderr);
  const url = await server.listening;
  const pid = server.child.pid!;
  return {
    url,
    pid,
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
    },
    cpuMs() {
      // Fields 14 and 15 of /proc/<pid>/stat, counted after the parenthesised command name.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
    },
    async stop() {
      if (server.child.exitCode !== null) return;
      server.child.kill('SIGINT');
      await once(server.child, 'exit');
    },
  };
}
