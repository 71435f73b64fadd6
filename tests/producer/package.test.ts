import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/clients.js';
import { createAppPool, testConfig } from '../support/servers.js';

const run = promisify(execFile);
const root = process.cwd();
const pool = createAppPool();
let app: string;

/** The version this checkout installed, so the consumer gets the same and npm's cache has it. */
const installed = (name: string) => (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), 'rte-producer-consumer-'));
  // As it would be published: `prepack` builds it, and only what `files` names goes in.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', app, '--workspace', '@realtime-events/producer'], { cwd: root });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const shipped = packed!.files.map((file) => file.path);
  expect(shipped).toEqual(expect.arrayContaining(['dist/index.d.ts', 'dist/index.js', 'README.md', 'LICENSE']));
  expect(packed!.files.some((file) => file.path.startsWith('src/'))).toBe(false);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { '@realtime-events/producer': `file:${join(app, packed!.filename)}`, graphql: installed('graphql') },
      devDependencies: { '@types/node': installed('@types/node') },
    }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel', 'error'], { cwd: app });
}, 180_000);

afterAll(async () => {
  await pool.stopAll();
  rmSync(app, { recursive: true, force: true });
});

/**
 * Leaves work only close() sends (a 60 s window holds both the text and the last progress),
 * and never calls process.exit: it ends once close() has released every timer and connection.
 */
const CONSUMER = `
import { ProducerError, createProducer } from '@realtime-events/producer';
import type { AgentMessage, IngestJob } from '@realtime-events/producer';

const [url] = process.argv.slice(2) as [string];
const producer = createProducer({ url, appendWindowMs: 60_000, coalesceProgressMs: 60_000 });
const job: IngestJob = await producer.createIngestJob({ projectId: 'packaged', source: 'tarball', totalItems: 2 });
await producer.updateIngestJobProgress({ id: job.id, progress: 0.5, processedItems: 1 });
const lastProgress = producer.updateIngestJobProgress({ id: job.id, progress: 1, processedItems: 2 });
const run = await producer.startAgentRun({ projectId: 'packaged', agent: 'consumer' });
const writer = await producer.streamAgentMessage({ runId: run.id, role: 'ASSISTANT' });
const stored: Promise<void> = writer.append('held by the window, sent by close');
try {
  await producer.startAgentRun({ projectId: 'packaged', agent: '' });
} catch (error) {
  if (!(error instanceof ProducerError)) throw error;
  console.log(JSON.stringify({ code: error.code, retryable: error.retryable, attempts: error.attempts }));
}
await producer.close();
await Promise.all([stored, lastProgress]);
const message: Pick<AgentMessage, 'id'> = { id: writer.id };
console.log(JSON.stringify({ job: job.id, run: run.id, message: message.id }));
`;

describe('the producer package', () => {
  it('installs from its tarball with only graphql, type-checks, runs against a live server, and exits by itself after close()', async () => {
    writeFileSync(join(app, 'consumer.ts'), CONSUMER);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'build', types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], { cwd: app });

    const server = await pool.start(testConfig('memory', 'producer-package-test:'));
    const { stdout } = await run(process.execPath, [join(app, 'build/consumer.js'), server.url], { cwd: app, timeout: 20_000 });
    const [refused, made] = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(refused).toEqual({ code: 'BAD_USER_INPUT', retryable: false, attempts: 1 });
    const state = await request<any>(
      server.url,
      `query ($job: ID!, $run: ID!) { ingestJob(id: $job) { progress processedItems } agentRun(id: $run) { messages(first: 1) { id content } } }`,
      { job: made.job, run: made.run },
    );
    expect(state.data).toEqual({
      ingestJob: { progress: 1, processedItems: 2 },
      agentRun: { messages: [{ id: made.message, content: 'held by the window, sent by close' }] },
    });
  }, 120_000);
});
