import { execSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnServer } from '../tests/support/processes.js';

const built = new Map<string, string>();

/**
 * A tree's server as deployed: compiled by tsc (`npm run build`) and run by node, so a bench
 * measures the code `npm start` runs, not tsx's transform of it (which, for one, names every
 * function it creates at run time). Built once per tree and run; returns its entry point.
 */
export function builtServer(dir = resolve(import.meta.dirname, '..')): string {
  let script = built.get(dir);
  if (script === undefined) {
    execSync('npx tsc -b tsconfig.build.json', { cwd: dir, stdio: 'inherit' });
    script = join(dir, 'dist/main.js');
    built.set(dir, script);
  }
  return script;
}

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

/** Starts `script`, by default this tree's server as built (`builtServer`). */
export async function startServerProcess(env: Record<string, string>, script = builtServer()): Promise<ServerProcess> {
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
