import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from '../support/clients.js';
import { createAppPool, testConfig } from '../support/servers.js';

const run = promisify(execFile);
const pool = createAppPool();

afterAll(() => pool.stopAll());

describe.each(['websocket', 'http', 'batch'])('close() over %s', (transport) => {
  it('sends what its windows hold and leaves no handles: the process exits by itself', async () => {
    const server = await pool.start(testConfig('memory', 'unused:'));
    // Without close() the 60 s windows (and an idle socket) would hold the process well past this timeout.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/producer/fixtures/close-and-exit.ts', server.url, transport], {
      timeout: 20_000,
    });
    const made = JSON.parse(stdout) as { job: string; run: string };
    const state = await request<any>(
      server.url,
      `query ($job: ID!, $run: ID!) { ingestJob(id: $job) { processedItems } agentRun(id: $run) { messages(first: 1) { content } } }`,
      made,
    );
    expect(state.data).toEqual({ ingestJob: { processedItems: 2 }, agentRun: { messages: [{ content: 'sent by close' }] } });
    expect(server.webSocketClientCount()).toBe(0);
  }, 30_000);
});
