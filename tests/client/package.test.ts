import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import react from '@vitejs/plugin-react';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { launchChromium } from '../support/browser.js';
import { mutate } from '../support/clients.js';
import { CREATE_JOB } from '../support/operations.js';
import { createAppPool, testConfig } from '../support/servers.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);
const root = process.cwd();
const pool = createAppPool();
let work: string;
let tarball: string;
let packedFiles: string[];
let staticServer: Server;
let staticOrigin: string;
let browser: Browser;
let server: App;

/** The version this checkout installed, so the consumer gets the same and npm's cache has it. */
const installed = (name: string) => (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The React apps a frontend team has: one on React 18 (the oldest the peer range allows),
 * one on the React this checkout develops with. Each brings only the package's peers.
 */
const APPS = [
  { name: 'react18', react: '18.3.1', types: '^18.3.0' },
  { name: 'react19', react: installed('react'), types: installed('@types/react') },
] as const;

const appDir = (name: string) => join(work, name);

/** A page any app could have: a list of jobs kept live by the hook, with the option-only call form. */
const APP_SOURCE = `
import { StrictMode, version } from 'react';
import { createRoot } from 'react-dom/client';
import { EventsProvider, createEventsClient, useConnectionStatus, useIngestJobStream } from '@realtime-events/client';
import type { IngestJob, IngestJobStatus } from '@realtime-events/client';

const LABEL: Record<IngestJobStatus, string> = { PENDING: 'waiting', RUNNING: 'running', COMPLETED: 'done', FAILED: 'failed' };
const params = new URLSearchParams(location.search);
const events = createEventsClient({ url: params.get('api')! });

function Jobs({ projectId }: { projectId: string }) {
  const { jobs, status, total } = useIngestJobStream(projectId, {});
  const connection = useConnectionStatus();
  const line = (job: IngestJob) => job.source + ': ' + LABEL[job.status];
  return (
    <main data-react={version} data-status={status} data-connection={connection} data-total={total}>
      {jobs.map((job) => <p key={job.id}>{line(job)}</p>)}
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <EventsProvider value={events}>
      <Jobs projectId={params.get('project')!} />
    </EventsProvider>
  </StrictMode>,
);
`;

const NODE_CONSUMER = `
import { createEventsClient, IngestJobStream, ProjectSnapshotQuery } from '@realtime-events/client';
import type { IngestJob } from '@realtime-events/client';
import WebSocket from 'ws';

const [url, projectId] = process.argv.slice(2) as [string, string];
const events = createEventsClient({ url, webSocketImpl: WebSocket });
const snapshot = await events.client.query(ProjectSnapshotQuery, { projectId }).toPromise();
if (!snapshot.data) throw new Error(snapshot.error?.message ?? 'no snapshot');
const cursor: string = snapshot.data.projectSnapshot.cursor;
console.log(JSON.stringify({ snapshot: cursor }));
const subscription = events.client
  .subscription(IngestJobStream, { projectId, after: cursor })
  .subscribe((result) => {
    const job: IngestJob | undefined = result.data?.ingestJob.job;
    if (!job) return;
    console.log(JSON.stringify({ type: result.data!.ingestJob.type, source: job.source }));
    subscription.unsubscribe();
    events.dispose();
  });
`;

async function createConsumerApp({ name, react: reactVersion, types }: (typeof APPS)[number]): Promise<void> {
  const dir = appDir(name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: `consumer-${name}`,
      private: true,
      type: 'module',
      dependencies: {
        '@realtime-events/client': `file:${tarball}`,
        graphql: installed('graphql'),
        react: reactVersion,
        'react-dom': reactVersion,
        urql: installed('urql'),
        ws: installed('ws'),
      },
      devDependencies: {
        '@types/react': types,
        '@types/react-dom': types,
        '@types/ws': installed('@types/ws'),
        '@types/node': installed('@types/node'),
      },
    }),
  );
  // A plain `npm install`, no --legacy-peer-deps: a peer range that left this React out fails here.
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel', 'error'], { cwd: dir });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><body><div id="root"></div><script type="module" src="./app.tsx"></script></body></html>');
  writeFileSync(join(dir, 'app.tsx'), APP_SOURCE);
  writeFileSync(join(dir, 'consumer.ts'), NODE_CONSUMER);
  writeFileSync(
    join(dir, 'tsconfig.app.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        module: 'ESNext',
        moduleResolution: 'Bundler',
        jsx: 'react-jsx',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: [],
      },
      files: ['app.tsx'],
    }),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'build', types: ['node'] },
      files: ['consumer.ts'],
    }),
  );
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rte-client-consumer-'));
  // As it would be published: `prepack` builds it, and only what `files` names goes in.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work, '--workspace', '@realtime-events/client'], { cwd: root });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, packed!.filename);
  packedFiles = packed!.files.map((file) => file.path);
  await Promise.all(APPS.map(createConsumerApp));

  staticServer = createServer((request, response) => {
    const path = normalize(new URL(request.url!, 'http://localhost').pathname);
    try {
      const file = readFileSync(join(work, path.endsWith('/') ? `${path}index.html` : path));
      response.writeHead(200, { 'content-type': TYPES[extname(path) || '.html'] ?? 'application/octet-stream' });
      response.end(file);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', resolve));
  staticOrigin = `http://127.0.0.1:${(staticServer.address() as { port: number }).port}`;
  // The apps are served from another origin than the API, as a Vite dev server or a CDN is.
  server = await pool.start(testConfig('memory', 'package-test:', { allowedOrigins: [staticOrigin] }));
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => staticServer?.close(resolve));
  await pool.stopAll();
  rmSync(work, { recursive: true, force: true });
});

describe('the client package', () => {
  it('ships what its manifest names and nothing of its sources', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'README.md', 'LICENSE', 'package.json']));
    expect(packedFiles.some((file) => file.startsWith('src/') || file.startsWith('dashboard/'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(appDir('react19'), 'node_modules/@realtime-events/client/package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
    };
    const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
    for (const target of targets) expect(packedFiles, `exports names ${target}`).toContain(target.replace(/^\.\//, ''));
  });

  it.each(APPS)('installs into a $name app, which type-checks, builds and streams live in a browser', async (app) => {
    const dir = appDir(app.name);
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.app.json')], { cwd: dir });
    await build({
      root: dir,
      configFile: false,
      base: './',
      logLevel: 'silent',
      plugins: [react()],
      build: { outDir: join(dir, 'dist'), emptyOutDir: true },
    });

    const projectId = `packaged-${app.name}`;
    const page = await browser.newPage();
    try {
      await page.goto(`${staticOrigin}/${app.name}/dist/?api=${encodeURIComponent(server.url)}&project=${projectId}`);
      const main = page.locator('main');
      await page.locator('main[data-status="live"]').waitFor({ state: 'attached', timeout: 15_000 });
      expect(await main.getAttribute('data-react')).toBe(app.react);
      await mutate(server.url, CREATE_JOB, { projectId, source: 'from-the-test' });
      await page.getByText('from-the-test: waiting').waitFor({ timeout: 10_000 });
      expect([await main.getAttribute('data-connection'), await main.getAttribute('data-total')]).toEqual(['live', '1']);
    } finally {
      await page.close();
    }
  }, 90_000);

  it('runs in Node against a live server with the types it declares', async () => {
    const dir = appDir('react19');
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir });
    const projectId = 'packaged-node';
    const consumer = execFile(process.execPath, [join(dir, 'build/consumer.js'), server.url, projectId], { cwd: dir });
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => consumer.on('exit', resolve));
    consumer.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    let stderr = '';
    consumer.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    try {
      // With `after` the snapshot's cursor, a change made any time after the snapshot arrives.
      await waitFor(() => lines.some((line) => line.includes('snapshot')) || consumer.exitCode !== null, {
        timeoutMs: 20_000,
        what: 'the consumer to load its snapshot',
      });
      expect(consumer.exitCode, stderr).toBeNull();
      await mutate(server.url, CREATE_JOB, { projectId, source: 'from-the-test' });
      expect(await exited, stderr).toBe(0);
      expect(lines.map((line) => JSON.parse(line))).toEqual([
        { snapshot: expect.stringMatching(/:0$/) },
        { type: 'INGEST_JOB_CREATED', source: 'from-the-test' },
      ]);
    } finally {
      consumer.kill();
    }
  }, 60_000);
});
