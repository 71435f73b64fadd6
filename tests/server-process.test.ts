import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { CloseCode } from '../src/transport/close-codes.js';
import { connectWebSocket, mutate, request, subscribeOverWebSocket } from './support/clients.js';
import { CREATE_JOB, JOB, PROJECT_STREAM } from './support/operations.js';
import type { NpmStartProcess, WorkingTreeCopy } from './support/processes.js';
import { copyWorkingTree, freePort, spawnNpmStart, spawnServer } from './support/processes.js';
import { waitFor } from './support/wait-for.js';

const children = new Set<ChildProcess>();
const npmGroups = new Set<NpmStartProcess>();
const webSocketClients = new Set<Client>();
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  // npm, and the server below it, whatever state a failed test left them in.
  for (const npm of npmGroups) npm.signalGroup('SIGKILL');
  npmGroups.clear();
  await Promise.all([...webSocketClients].map((client) => client.dispose()));
  webSocketClients.clear();
});

function startServer(env: Record<string, string>) {
  const server = spawnServer(env);
  children.add(server.child);
  return server;
}

describe('the server process', () => {
  it('starts on the in-process default, prints its URL, serves GraphiQL and stops cleanly on SIGTERM', async () => {
    const server = startServer({});
    const url = await server.listening;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    // Running open is allowed here, and said once, loudly.
    const warnings = server.logs.filter((entry) => entry.level === 40 && entry.msg.startsWith('AUTHENTICATION IS OFF'));
    expect(warnings).toHaveLength(1);
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    const html = await page.text();
    expect(html).toContain('<title>Real-time events API</title>');
    expect(html).toContain('"subscriptionsProtocol":"WS"');
    // Served whole by this server: no script, style or icon from another host (the browser
    // test in tests/e2e/graphiql.test.ts proves it works that way).
    expect(html).not.toMatch(/<script[^>]*\ssrc=/);
    expect(html).not.toMatch(/<link[^>]*\shref="?https?:/);
    const { createIngestJob } = await mutate(url, CREATE_JOB, { projectId: 'p', source: 's' });
    expect(createIngestJob.status).toBe('PENDING');
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  it('turns GraphiQL off in production', async () => {
    const server = startServer({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'a-secret-of-at-least-thirty-two-characters' });
    const url = await server.listening;
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('<title>Real-time events API</title>');
    server.child.kill('SIGINT');
    expect((await server.exited).code).toBe(0);
  });

  it('refuses to start in production without authentication', async () => {
    const { code, stderr } = await startServer({ NODE_ENV: 'production' }).exited;
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      'Invalid configuration: NODE_ENV=production needs authentication: set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL',
    );
  });

  it('refuses to start on a bad value with one clear line', async () => {
    const { exited } = startServer({ PORT: 'eighty' });
    const { code, stderr } = await exited;
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('Invalid configuration: PORT must be an integer from 0 to 65535, got "eighty"');
  });
});

// npm start on a copy of the working tree, as a fresh clone has it: its build is its own, and
// nothing a test builds lands in this checkout's dist/ while someone may be running it.
describe('npm start', () => {
  // Short, so a drain with a client that stays connected ends quickly.
  const DRAIN_GRACE_MS = '1000';
  // A whole tsc build, on a machine busy with the other test files.
  const BUILD_TIMEOUT_MS = 90_000;

  let workingTree: WorkingTreeCopy;
  beforeAll(() => {
    workingTree = copyWorkingTree();
  });
  afterAll(() => workingTree.dispose());

  function startNpm(env: Record<string, string> = {}) {
    const npm = spawnNpmStart({ DRAIN_GRACE_MS, ...env }, { cwd: workingTree.dir });
    npmGroups.add(npm);
    return npm;
  }

  function connectUntilClosed(url: string) {
    let onClosed!: (event: CloseEvent) => void;
    const closed = new Promise<CloseEvent>((resolve) => (onClosed = resolve));
    let onConnected!: () => void;
    const connected = new Promise<void>((resolve) => (onConnected = resolve));
    const client = connectWebSocket(url, {
      on: { connected: () => onConnected(), closed: (event) => onClosed(event as CloseEvent) },
      // The close is what these tests expect; graphql-ws would report it as an error.
      onNonLazyError: () => {},
    });
    webSocketClients.add(client);
    return { client, connected, closed };
  }

  it(
    'builds a fresh clone, then serves it with node from the compiled JavaScript and drains on SIGTERM',
    async () => {
      expect(existsSync(join(workingTree.dir, 'dist'))).toBe(false);
      const npm = startNpm();
      const url = await npm.listening;
      expect(existsSync(join(workingTree.dir, 'dist/main.js'))).toBe(true);
      // npm's only child is node on the build: no TypeScript loader in production.
      const serverArgs = readFileSync(`/proc/${await npm.serverPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(serverArgs.slice(1)).toEqual(['dist/main.js']);

      const { client, connected, closed } = connectUntilClosed(url);
      await connected;
      const events = subscribeOverWebSocket<{ projectEvents: { type: string; job: { id: string } } }>(client, PROJECT_STREAM, { projectId: 'built' });
      // Another process's subscriber count cannot be read: the stream is live once a probe arrives.
      await waitFor(
        async () => events.results.length > 0 || !(await mutate(url, CREATE_JOB, { projectId: 'built', source: 'probe' })),
        { what: 'a probe event' },
      );
      const created = events.results[0]!.projectEvents;
      expect(created.type).toBe('INGEST_JOB_CREATED');
      const { data } = await request(url, JOB, { id: created.job.id });
      expect(data?.ingestJob).toMatchObject({ id: created.job.id, projectId: 'built', source: 'probe', status: 'PENDING' });

      npm.signalGroup('SIGTERM');
      expect((await closed).code).toBe(CloseCode.ServiceRestart);
      expect(await npm.exited).toMatchObject({ code: 0, signal: null });
      expect(npm.logs.some((entry) => entry.msg === 'drained')).toBe(true);
    },
    BUILD_TIMEOUT_MS,
  );

  describe('signals', () => {
    // So that no test here waits for a whole build: after the test above, neither this build
    // nor each start's own finds anything to do.
    beforeAll(async () => {
      await promisify(execFile)('npm', ['run', 'build'], { cwd: workingTree.dir });
    }, BUILD_TIMEOUT_MS);

    async function startWithConnectedClient(env: Record<string, string> = {}) {
      const npm = startNpm(env);
      const { connected, closed } = connectUntilClosed(await npm.listening);
      await connected;
      return { npm, closed, serverPid: await npm.serverPid };
    }

    it('drains when SIGTERM reaches the whole process group, as systemd and most supervisors send it', async () => {
      const { npm, closed } = await startWithConnectedClient();
      npm.signalGroup('SIGTERM');
      expect((await closed).code).toBe(CloseCode.ServiceRestart);
      expect(await npm.exited).toMatchObject({ code: 0, signal: null });
      expect(npm.logs.filter((entry) => entry.msg === 'draining: not ready')).toHaveLength(1);
      expect(npm.logs.some((entry) => entry.msg === 'drained')).toBe(true);
    });

    it('drains when SIGTERM reaches the server process alone', async () => {
      const { npm, closed, serverPid } = await startWithConnectedClient();
      process.kill(serverPid, 'SIGTERM');
      expect((await closed).code).toBe(CloseCode.ServiceRestart);
      expect(await npm.exited).toMatchObject({ code: 0, signal: null });
      expect(npm.logs.some((entry) => entry.msg === 'drained')).toBe(true);
    });

    it('drains once when SIGTERM arrives twice', async () => {
      const { npm, closed, serverPid } = await startWithConnectedClient();
      process.kill(serverPid, 'SIGTERM');
      await npm.logged('draining: not ready');
      process.kill(serverPid, 'SIGTERM');
      await npm.logged('already draining');
      expect((await closed).code).toBe(CloseCode.ServiceRestart);
      expect(await npm.exited).toMatchObject({ code: 0, signal: null });
      expect(npm.logs.filter((entry) => entry.msg === 'draining: not ready')).toHaveLength(1);
    });

    it('stops at once on SIGINT in the middle of a drain', async () => {
      // A grace far longer than the test's timeout: the process can only exit in time by not waiting for it.
      const { npm, closed } = await startWithConnectedClient({ DRAIN_GRACE_MS: '600000' });
      npm.signalGroup('SIGTERM');
      await npm.logged('draining: not ready');
      npm.signalGroup('SIGINT');
      // Stopping closes WebSockets as going away, not with the drain's 1012.
      expect((await closed).code).toBe(1001);
      expect(await npm.exited).toMatchObject({ code: 0, signal: null });
      expect(npm.logs.some((entry) => entry.msg === 'stopping' && entry.interrupted === 'drain')).toBe(true);
      expect(npm.logs.some((entry) => entry.msg === 'drained')).toBe(false);
    });
  });
});

describe('loadConfig', () => {
  it('has defaults that run without Redis', () => {
    expect(loadConfig({})).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      redisUrl: undefined,
      redisKeyPrefix: 'rte:',
      production: false,
      graphiql: true,
      logLevel: 'info',
      gapTimeoutMs: 100,
      retention: { maxEvents: 10_000, maxAgeMs: 86_400_000 },
      auth: undefined,
      allowedOrigins: undefined,
      limits: { maxPayloadBytes: 65_536, maxSubscriptionsPerConnection: 100, maxConnectionsPerSubject: 50 },
    });
  });

  it.each([
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535, got "70000"'],
    [{ PORT: '-1' }, 'PORT must be an integer from 0 to 65535, got "-1"'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL must look like redis://host:port or rediss://host:port, got "localhost:6379"'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    [{ GRAPHIQL: 'yes' }, 'GRAPHIQL must be true or false, got "yes"'],
    [{ REDIS_KEY_PREFIX: 'has space' }, 'REDIS_KEY_PREFIX must be up to 64 letters, digits, or _ : . -, got "has space"'],
    [{ GAP_TIMEOUT_MS: '0' }, 'GAP_TIMEOUT_MS must be an integer from 1 to 60000, got "0"'],
    [{ EVENT_LOG_MAX_EVENTS: 'many' }, 'EVENT_LOG_MAX_EVENTS must be an integer from 0 to 10000000, got "many"'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET must be at least 32 characters, got 5'],
    [{ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'https://id.example.com/jwks' }, 'set only one of AUTH_JWT_SECRET, AUTH_JWKS_URL'],
    [{ AUTH_JWKS_URL: 'not a url' }, 'AUTH_JWKS_URL must be a URL, got "not a url"'],
    [{ AUTH_JWT_PUBLIC_KEY: 'abc' }, 'AUTH_JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)'],
    [{ ALLOWED_ORIGINS: 'app.example.com' }, 'ALLOWED_ORIGINS must list origins like https://app.example.com, got "app.example.com"'],
    [{ WS_ALLOWED_ORIGINS: 'app.example.com' }, 'WS_ALLOWED_ORIGINS must list origins like https://app.example.com, got "app.example.com"'],
    [{ ALLOWED_ORIGINS: 'https://a.example', WS_ALLOWED_ORIGINS: 'https://a.example' }, 'set ALLOWED_ORIGINS or WS_ALLOWED_ORIGINS (its earlier name), not both'],
    [{ REDIS_SENTINELS: 'sentinel-a' }, 'REDIS_SENTINELS must list host:port pairs, got "sentinel-a"'],
    [{ REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINELS needs REDIS_SENTINEL_NAME, the monitored master'],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm', REDIS_URL: 'redis://x:6379' }, 'set REDIS_URL or REDIS_SENTINELS, not both'],
    [{ REDIS_CLUSTER_NODES: 'node-a:7000,node-b' }, 'REDIS_CLUSTER_NODES must list host:port pairs, got "node-b"'],
    [{ REDIS_CLUSTER_NODES: 'node-a:0' }, 'REDIS_CLUSTER_NODES must list host:port pairs, got "node-a:0"'],
    [{ REDIS_CLUSTER_NODES: 'redis://node-a:7000' }, 'REDIS_CLUSTER_NODES must list host:port pairs, got "redis://node-a:7000"'],
    [{ REDIS_CLUSTER_NODES: 'node-a:7000', REDIS_URL: 'redis://x:6379' }, 'set REDIS_CLUSTER_NODES or REDIS_URL, not both'],
    [{ REDIS_CLUSTER_NODES: 'node-a:7000', REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm' }, 'set REDIS_CLUSTER_NODES or REDIS_SENTINELS, not both'],
    [{ FANOUT: 'broadcast' }, 'FANOUT must be shared or per-subscriber, got "broadcast"'],
    [{ DRAIN_GRACE_MS: 'soon' }, 'DRAIN_GRACE_MS must be an integer from 0 to 600000, got "soon"'],
    [{ EVENT_LOG_MAX_AGE_SECONDS: '1.5' }, 'EVENT_LOG_MAX_AGE_SECONDS must be an integer from 0 to 31536000, got "1.5"'],
    [{ SUBSCRIPTIONS_PER_SECOND: '0' }, 'SUBSCRIPTIONS_PER_SECOND must be an integer from 1 to 100000, got "0"'],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });

  it('reads production, Redis and GraphiQL settings', () => {
    const secret = 'a-secret-of-at-least-thirty-two-characters';
    const config = loadConfig({
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: secret,
      REDIS_URL: 'redis://cache:6379/2',
      GRAPHIQL: 'true',
      PORT: '8080',
      WS_ALLOWED_ORIGINS: 'https://a.example.com, http://localhost:5173',
    });
    expect(config).toMatchObject({
      production: true,
      redisUrl: 'redis://cache:6379/2',
      graphiql: true,
      port: 8080,
      auth: { kind: 'secret', secret },
      allowedOrigins: ['https://a.example.com', 'http://localhost:5173'],
    });
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: secret }).graphiql).toBe(false);
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379, s2:26380', REDIS_SENTINEL_NAME: 'events' })).toMatchObject({
      redisSentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      redisSentinelName: 'events',
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'node-a:7000, node-b:7001' })).toMatchObject({
      redisClusterNodes: [
        { host: 'node-a', port: 7000 },
        { host: 'node-b', port: 7001 },
      ],
      redisUrl: undefined,
      redisSentinels: undefined,
    });
  });
});

describe('npm run simulate', () => {
  it('drives jobs, agent runs (with streamed answers) and workflows that a subscriber sees live', async () => {
    const server = startServer({});
    const url = await server.listening;
    const client = connectWebSocket(url);
    webSocketClients.add(client);
    const events = subscribeOverWebSocket<{ projectEvents: { type: string } }>(client, PROJECT_STREAM, { projectId: 'sim' });
    // Another process's subscriber count cannot be read: the stream is live once a probe arrives.
    await waitFor(
      async () => events.results.length > 0 || !(await mutate(url, CREATE_JOB, { projectId: 'sim', source: 'probe' })),
      { what: 'a probe event' },
    );
    const simulator = spawn(process.execPath, ['--import', 'tsx', 'scripts/simulate.ts', url, 'sim'], {
      env: { ...process.env, SIMULATE_DURATION_MS: '60000', SIMULATE_TICK_MS: '5' },
      stdio: 'ignore',
    });
    children.add(simulator);
    const seen = () => new Set(events.results.map((result) => result.projectEvents.type));
    await waitFor(
      () =>
        [
          'INGEST_JOB_UPDATED',
          'AGENT_MESSAGE_APPENDED',
          'AGENT_STEP_UPDATED',
          'AGENT_MESSAGE_DELTA',
          'AGENT_MESSAGE_COMPLETED',
          'WORKFLOW_NODE_STATE_UPDATED',
        ].every((type) => seen().has(type)),
      { timeoutMs: 15_000, what: 'every kind of simulated work' },
    );
    simulator.kill('SIGINT');
    expect((await once(simulator, 'exit'))[0]).toBe(0);
    await client.dispose();
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  it('says once that no server answers, not once per failed call', async () => {
    const url = `http://127.0.0.1:${await freePort()}/graphql`;
    // Four loops retrying every second for three seconds: about a dozen failed calls.
    const simulator = spawn(process.execPath, ['--import', 'tsx', 'scripts/simulate.ts', url], {
      env: { ...process.env, SIMULATE_DURATION_MS: '3000', SIMULATE_TICK_MS: '5' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(simulator);
    let stderr = '';
    simulator.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    expect((await once(simulator, 'exit'))[0]).toBe(0);
    expect(stderr.trim().split('\n')).toEqual([expect.stringContaining(`no server answers at ${url}`)]);
    expect(stderr).toContain('npm start');
  });
});
