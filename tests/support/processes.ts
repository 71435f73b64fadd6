import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { waitFor } from './wait-for.js';

/** A port that was free a moment ago, for a process that must come back on the same one. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One sample of a server's `/metrics`, 0 when absent: the explicit readiness of a server
 * process the test cannot ask directly (how many subscriptions it holds).
 */
export async function scrapeMetric(graphqlUrl: string, sample: string): Promise<number> {
  // Node's HTTP client, not `fetch`: under happy-dom `fetch` is a browser's and applies CORS,
  // which /metrics (for scrapers, not pages) does not answer.
  const text = await new Promise<string>((resolve, reject) => {
    get(new URL('/metrics', graphqlUrl), (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

type LogEntry = { level: number; msg: string; [key: string]: unknown };

export interface ServerProcess {
  child: ChildProcess;
  /** Every log line the server wrote so far, parsed. */
  logs: LogEntry[];
  /** Resolves with the URL from the server's start-up log line. */
  listening: Promise<string>;
  /** Resolves with the first log entry, past or future, whose message is `msg`; rejects if the process exits first. */
  logged(msg: string): Promise<LogEntry>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * `src/main.ts` (or another server script) in a child process through tsx, without npm
 * around it (`npm start` runs the same code built, see `spawnNpmStart`); a built `.js`
 * script runs on node alone.
 * `listening` comes from the start-up log line, so LOG_LEVEL must allow info.
 */
export function spawnServer(env: Record<string, string>, script = 'src/main.ts'): ServerProcess {
  return watchServer(
    spawn(process.execPath, script.endsWith('.js') ? [script] : ['--import', 'tsx', script], {
      env: { ...process.env, PORT: '0', REDIS_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

export interface NpmStartProcess extends ServerProcess {
  /** The node process that runs the server, below npm: from the `pid` of its log lines. */
  serverPid: Promise<number>;
  /** Sends `signal` to npm's whole process group, as a supervisor does; quiet when it is gone. */
  signalGroup(signal: NodeJS.Signals): void;
}

/**
 * `npm start` exactly as an operator or a supervisor runs it, leading its own process group
 * (`detached`), so `signalGroup` reaches npm and the server together. In `cwd` when given.
 */
export function spawnNpmStart(env: Record<string, string>, { cwd }: { cwd?: string } = {}): NpmStartProcess {
  const child = spawn('npm', ['start'], {
    cwd,
    env: { ...process.env, PORT: '0', REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const server = watchServer(child);
  const serverPid = server.listening.then(() => server.logs.find((entry) => entry.url)!.pid as number);
  // Like `listening`: a test that expects the start to fail awaits `exited` only.
  serverPid.catch(() => {});
  return {
    ...server,
    serverPid,
    signalGroup(signal) {
      try {
        process.kill(-child.pid!, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },
  };
}

export interface WorkingTreeCopy {
  /** The copy's root, to run npm in. */
  dir: string;
  dispose(): void;
}

/**
 * This working tree as a fresh clone of it would be after `npm ci`: the files git tracks or
 * would track, none it ignores (so no `dist/`), in a temporary directory, with this
 * checkout's installed `node_modules` linked in.
 */
export function copyWorkingTree(): WorkingTreeCopy {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'rte-working-tree-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    // node_modules is a symlink in some checkouts, which `node_modules/` does not ignore;
    // a tracked file deleted from the tree is not in a clone of it either.
    if (file === 'node_modules' || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(root, file), join(dir, file));
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

function watchServer(child: ChildProcess): ServerProcess {
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stderr,
  }));
  const logs: LogEntry[] = [];
  const lines = new EventEmitter<{ entry: [LogEntry] }>();
  // npm prints its own banner before the server's JSON lines.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const entry = JSON.parse(line) as LogEntry;
    logs.push(entry);
    lines.emit('entry', entry);
  });
  function logged(msg: string): Promise<LogEntry> {
    return new Promise((resolve, reject) => {
      const earlier = logs.find((entry) => entry.msg === msg);
      if (earlier) return resolve(earlier);
      const onEntry = (entry: LogEntry) => {
        if (entry.msg !== msg) return;
        lines.off('entry', onEntry);
        resolve(entry);
      };
      lines.on('entry', onEntry);
      void exited.then(({ code, signal }) => {
        lines.off('entry', onEntry);
        reject(new Error(`server exited (${code ?? signal}) before logging "${msg}": ${stderr}`));
      });
    });
  }
  const listening = new Promise<string>((resolve, reject) => {
    lines.on('entry', (entry) => {
      if (typeof entry.url === 'string') resolve(entry.url);
    });
    void exited.then(({ code }) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  // A test that expects the start to fail awaits `exited` only.
  listening.catch(() => {});
  return { child, logs, listening, logged, exited };
}

/**
 * A private `redis-server` on its own port and directory, with every write fsynced to its
 * append-only file, so a test can kill and restart it without losing what it acknowledged.
 */
export async function startPrivateRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rte-redis-'));
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;

  async function start(): Promise<void> {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
      { stdio: 'ignore' },
    );
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    await waitFor(
      async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          probe.disconnect();
          return false;
        }
      },
      { what: `redis-server on port ${port}` },
    );
    probe.disconnect();
  }

  async function kill(): Promise<void> {
    const running = child;
    // A process killed by a signal keeps `exitCode` null and sets `signalCode`: either means it is gone.
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    // A stalled one (SIGSTOP) is let go first, so that it takes the kill.
    running.kill('SIGCONT');
    running.kill('SIGKILL');
    await once(running, 'exit');
  }

  await start();
  return {
    url,
    port,
    /** Stops it abruptly, as a crash would. */
    kill,
    /** Stalls it (SIGSTOP): connections stay open, nothing is answered. */
    pause: () => void child?.kill('SIGSTOP'),
    /** Lets a stalled one go on (SIGCONT). */
    resume: () => void child?.kill('SIGCONT'),
    /** Starts it again on the same port and data. */
    start,
    async dispose() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
