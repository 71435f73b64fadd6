import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { launchChromium } from '../support/browser.js';
import { mutate } from '../support/clients.js';
import {
  APPEND_CONTENT,
  APPEND_MESSAGE,
  CREATE_JOB,
  FINISH_MESSAGE,
  START_MESSAGE,
  START_RUN,
  START_WORKFLOW,
  UPDATE_NODE,
  UPDATE_PROGRESS,
  UPDATE_STEP,
} from '../support/operations.js';
import { freePort } from '../support/processes.js';
import { createRedis, deleteKeys, uniquePrefix } from '../support/redis.js';
import { createAppPool, testConfig } from '../support/servers.js';
import { TEST_SECRET, signToken } from '../support/tokens.js';

const ARTIFACTS = join(process.cwd(), 'test-results');

const prefix = uniquePrefix('e2e');
const pool = createAppPool();
let distDir: string;
let staticServer: Server;
let staticUrl: string;
let browser: Browser;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

beforeAll(async () => {
  distDir = mkdtempSync(join(tmpdir(), 'rte-dashboard-'));
  await build({ configFile: 'client/vite.config.ts', logLevel: 'silent', build: { outDir: distDir, emptyOutDir: true } });
  staticServer = createServer((request, response) => {
    const path = new URL(request.url!, 'http://localhost').pathname;
    try {
      const file = readFileSync(join(distDir, path === '/' ? 'index.html' : path));
      response.writeHead(200, { 'content-type': TYPES[extname(path) || '.html'] ?? 'application/octet-stream' });
      response.end(file);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', resolve));
  staticUrl = `http://127.0.0.1:${(staticServer.address() as { port: number }).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => staticServer?.close(resolve));
  await pool.stopAll();
  rmSync(distDir, { recursive: true, force: true });
  const redis = createRedis();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const connection = (page: Page) => page.getByTestId('connection');

describe('the dashboard in a real browser', () => {
  it('shows live work, rides through a server restart, and shows what happened while it was down', async () => {
    const port = await freePort();
    const config = testConfig('redis', prefix, { port });
    let serving: App = await pool.start(config);
    // Work keeps being accepted by another instance while the page's server is down.
    const publisher = await pool.start(testConfig('redis', prefix));
    const projectId = 'e2e';
    const job = (await mutate(publisher.url, CREATE_JOB, { projectId, source: 's3://raw/orders', totalItems: 200 }))
      .createIngestJob;

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${staticUrl}/?project=${projectId}&api=${encodeURIComponent(serving.url)}`);
    await expect.poll(() => connection(page).textContent(), { timeout: 10_000 }).toBe('Live');
    const jobCard = page.getByTestId(`job-${job.id}`);
    await jobCard.waitFor();

    await mutate(publisher.url, UPDATE_PROGRESS, { id: job.id, progress: 0.4, processedItems: 80, message: 'reading orders' });
    const run = (await mutate(publisher.url, START_RUN, { projectId, agent: 'support-triage' })).startAgentRun;
    await mutate(publisher.url, UPDATE_STEP, { runId: run.id, stepId: 'plan', name: 'Plan', status: 'RUNNING' });
    await mutate(publisher.url, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'Why did order sync slow down?' });
    await mutate(publisher.url, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content: 'Looking at the ingest logs' });
    const flow = (await mutate(publisher.url, START_WORKFLOW, { projectId, workflowId: 'nightly-etl', nodeIds: ['extract', 'load'] }))
      .startWorkflowRun;
    await mutate(publisher.url, UPDATE_NODE, { runId: flow.id, nodeId: 'extract', status: 'SUCCEEDED', output: '10 rows' });

    await expect.poll(() => jobCard.getByTestId('percent').textContent()).toBe('40%');
    await expect.poll(() => jobCard.textContent()).toContain('80 / 200 items');
    const runCard = page.getByTestId(`run-${run.id}`);
    await expect.poll(() => runCard.textContent()).toContain('Looking at the ingest logs');
    await expect.poll(() => runCard.locator('.message .content').allTextContents()).toEqual([
      'Why did order sync slow down?',
      'Looking at the ingest logs',
    ]);
    const flowCard = page.getByTestId(`workflow-${flow.id}`);
    await expect.poll(() => flowCard.locator('.node-status').allTextContents()).toEqual(['succeeded', 'pending']);
    await expect.poll(() => flowCard.getByTestId('node-counts').locator('span').allTextContents()).toEqual(['1 / 2 nodes done']);

    // The server behind the page goes away; work goes on elsewhere.
    await serving.stop();
    await expect.poll(() => connection(page).textContent(), { timeout: 10_000 }).toBe('Reconnecting');
    await mutate(publisher.url, UPDATE_PROGRESS, { id: job.id, progress: 0.9, processedItems: 180 });
    await mutate(publisher.url, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content: 'Written while the server was down' });
    await mutate(publisher.url, UPDATE_NODE, { runId: flow.id, nodeId: 'load', status: 'RUNNING' });
    serving = await pool.start(config);

    await expect.poll(() => connection(page).textContent(), { timeout: 15_000 }).toBe('Live');
    await expect.poll(() => jobCard.getByTestId('percent').textContent(), { timeout: 10_000 }).toBe('90%');
    await expect.poll(() => runCard.locator('.message .content').allTextContents()).toEqual([
      'Why did order sync slow down?',
      'Looking at the ingest logs',
      'Written while the server was down',
    ]);
    await expect.poll(() => flowCard.locator('.node-status').allTextContents()).toEqual(['succeeded', 'running']);
    await expect.poll(() => flowCard.getByTestId('node-counts').locator('span').allTextContents()).toEqual([
      '1 / 2 nodes done',
      '1 running',
    ]);

    // A run longer than its card: the card shows the last six messages and counts the rest.
    for (const step of ['logs', 'metrics', 'queue', 'locks', 'answer']) {
      await mutate(publisher.url, APPEND_MESSAGE, { runId: run.id, role: 'TOOL', content: `read ${step}` });
    }
    await expect.poll(() => runCard.locator('.message .content').allTextContents()).toEqual([
      'Written while the server was down',
      'read logs',
      'read metrics',
      'read queue',
      'read locks',
      'read answer',
    ]);
    expect(await runCard.getByTestId('earlier-messages').textContent()).toBe('2 earlier messages');
    expect(await runCard.locator('.step').allTextContents()).toEqual(['Plan']);
    expect(await page.locator('[data-testid^="job-"]').count()).toBe(1);
    expect(pageErrors).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true, animations: 'disabled' });
    await page.close();
  }, 60_000);

  it('shows a streamed message growing behind a blinking caret, and the caret gone once it is complete', async () => {
    const serving = await pool.start(testConfig('redis', prefix));
    const publisher = await pool.start(testConfig('redis', prefix, { agentDeltaWindowMs: 20 }));
    const projectId = 'e2e-streamed';
    const run = (await mutate(publisher.url, START_RUN, { projectId, agent: 'support-triage' })).startAgentRun;
    await mutate(publisher.url, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'Why did order sync slow down?' });

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${staticUrl}/?project=${projectId}&api=${encodeURIComponent(serving.url)}`);
    await expect.poll(() => connection(page).textContent(), { timeout: 10_000 }).toBe('Live');
    const runCard = page.getByTestId(`run-${run.id}`);
    await runCard.waitFor();

    const message = (await mutate(publisher.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
    const streamed = runCard.getByTestId('message-1');
    const content = streamed.locator('.content');
    await expect.poll(() => streamed.getAttribute('data-status')).toBe('streaming');
    const caret = streamed.getByTestId('caret');
    await caret.waitFor();
    expect(await caret.evaluate((element) => getComputedStyle(element).animationName)).toBe('blink');
    // Every length the text takes in the DOM, as the page renders it.
    await content.evaluate((element) => {
      const lengths: number[] = [];
      (window as unknown as { lengths: number[] }).lengths = lengths;
      new MutationObserver(() => lengths.push(element.textContent!.length)).observe(element, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });

    const tokens = ['The', ' ingest', ' queue', ' backed', ' up', ' at', ' 09:14:', ' a', ' lock', ' on', ' orders', ' held', ' it.'];
    let whole = '';
    const append = async (text: string) => {
      await mutate(publisher.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text });
      whole += text;
    };
    // The first tokens one at a time, each seen before the next is written.
    for (const text of tokens.slice(0, 4)) {
      await append(text);
      await expect.poll(() => content.textContent()).toBe(whole);
      expect(await caret.isVisible()).toBe(true);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-streaming.png'), fullPage: true, animations: 'disabled' });
    for (const text of tokens.slice(4)) await append(text);
    await mutate(publisher.url, FINISH_MESSAGE, { runId: run.id, messageId: message.id });

    await expect.poll(() => streamed.getAttribute('data-status')).toBe('complete');
    expect(await caret.count()).toBe(0);
    expect(await content.textContent()).toBe(whole);
    const lengths = await page.evaluate(() => (window as unknown as { lengths: number[] }).lengths);
    const intermediate = new Set(lengths.filter((length) => length > 0 && length < whole.length));
    expect(intermediate.size).toBeGreaterThanOrEqual(2);
    // Only ever longer.
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);

  it('says why it is empty: a bad project id, a refused token, a server that does not answer', async () => {
    const open = await pool.start(testConfig('memory', 'e2e-problems:'));
    const secured = await pool.start(testConfig('memory', 'e2e-problems-secured:', { auth: { kind: 'secret', secret: TEST_SECRET } }));
    const unreachable = `http://127.0.0.1:${await freePort()}/graphql`;
    const otherProjects = await signToken({ projects: ['someone-else'] });
    const cases = [
      { name: 'bad-project', project: 'has space', api: open.url, status: 'Error', says: '"has space" is not a project id the API accepts' },
      { name: 'refused-token', project: 'demo', api: secured.url, token: 'not-a-jwt', status: 'Error', says: 'The API refused the token' },
      { name: 'forbidden-project', project: 'demo', api: secured.url, token: otherProjects, status: 'Error', says: 'may not read project "demo"' },
      { name: 'unreachable', project: 'demo', api: unreachable, status: 'Reconnecting', says: `The API at ${unreachable} does not answer` },
    ];
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const { name, project, api, token, status, says } of cases) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const query = new URLSearchParams({ project, api, ...(token ? { token } : {}) });
      await page.goto(`${staticUrl}/?${query}`);
      await expect.poll(() => connection(page).textContent(), { timeout: 10_000, message: name }).toBe(status);
      // The reason is on the page, not in a tooltip.
      await expect.poll(() => page.getByTestId('problem').textContent(), { timeout: 10_000, message: name }).toContain(says);
      expect(await page.getByTestId('problem').isVisible()).toBe(true);
      expect(await page.getByTestId('ingest-panel').locator('.empty').textContent()).toBe('Nothing to show yet');
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), animations: 'disabled' });
      await page.close();
    }
  }, 60_000);

  it('says when a count is a window, and fits a phone without scrolling sideways', async () => {
    const app = await pool.start(testConfig('memory', 'e2e-window:'));
    const projectId = 'e2e-window';
    for (let index = 0; index < 203; index++) {
      await mutate(app.url, CREATE_JOB, { projectId, source: `s3://a-bucket-with-a-rather-long-name/exports/2026/orders-part-${index}.parquet` });
    }
    await mutate(app.url, START_WORKFLOW, { projectId, workflowId: 'nightly-etl-with-a-long-name', nodeIds: ['extract', 'transform', 'load', 'publish'] });
    const run = (await mutate(app.url, START_RUN, { projectId, agent: 'support-triage' })).startAgentRun;
    await mutate(app.url, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content: `a-word-without-any-break-${'x'.repeat(120)}` });

    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${staticUrl}/?project=${projectId}&api=${encodeURIComponent(app.url)}`);
    await expect.poll(() => connection(page).textContent(), { timeout: 10_000 }).toBe('Live');
    const counts = (panel: string) => page.getByTestId(panel).getByTestId('count').textContent();
    await expect.poll(() => counts('ingest-panel')).toBe('latest 200 of 203');
    expect(await counts('workflow-panel')).toBe('1');
    // One more job: the window moves on, the total grows.
    await mutate(app.url, CREATE_JOB, { projectId, source: 'one-more' });
    await expect.poll(() => counts('ingest-panel')).toBe('latest 200 of 204');

    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), animations: 'disabled' });
    await page.close();
  }, 60_000);
});
