import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutate } from '../support/clients.js';
import { CREATE_JOB } from '../support/operations.js';
import { createAppPool, testConfig } from '../support/servers.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);
const root = process.cwd();
const pool = createAppPool();
let app: string;
let tarball: string;

/** The version this checkout installed, so the consumer gets the same and npm's cache has it. */
const installed = (name: string) => (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), 'rte-client-consumer-'));
  // As it would be published: `prepack` builds it, and only what `files` names goes in.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', app, '--workspace', '@realtime-events/client'], { cwd: root });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(app, packed!.filename);
  expect(packed!.files.map((file) => file.path)).toContain('dist/index.d.ts');
  expect(packed!.files.some((file) => file.path.startsWith('src/') || file.path.startsWith('dashboard/'))).toBe(false);

  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: {
        '@realtime-events/client': `file:${tarball}`,
        graphql: installed('graphql'),
        react: installed('react'),
        urql: installed('urql'),
        ws: installed('ws'),
      },
      devDependencies: { '@types/react': installed('@types/react'), '@types/ws': installed('@types/ws'), '@types/node': installed('@types/node') },
    }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel', 'error'], { cwd: app });
}, 180_000);

afterAll(async () => {
  await pool.stopAll();
  rmSync(app, { recursive: true, force: true });
});

const CONSUMER = `
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

describe('the client package', () => {
  it('installs from its tarball into an app that brings only its peers, type-checks, and runs against a live server', async () => {
    writeFileSync(join(app, 'consumer.ts'), CONSUMER);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'build', types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app });

    const server = await pool.start(testConfig('memory', 'package-test:'));
    const projectId = 'packaged';
    const consumer = execFile(process.execPath, [join(app, 'build/consumer.js'), server.url, projectId], { cwd: app });
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
