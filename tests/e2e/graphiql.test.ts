import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERY_EVENT_SUBSCRIPTION } from '../../src/graphiql-tabs.js';
import { launchChromium } from '../support/browser.js';
import { mutate } from '../support/clients.js';
import { APPEND_CONTENT, CREATE_JOB, JOBS, START_MESSAGE, START_RUN } from '../support/operations.js';
import { createAppPool, testConfig } from '../support/servers.js';
import { waitFor } from '../support/wait-for.js';

const ARTIFACTS = join(process.cwd(), 'test-results');

const pool = createAppPool();
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await pool.stopAll();
});

describe('GraphiQL in a real browser', () => {
  it('opens with a subscription of every event kind and a tab of mutations, runs both over WebSocket and HTTP, with every asset served by the server', async () => {
    const app = await pool.start(testConfig('memory', 'graphiql:'));
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // As on a machine without internet: anything not on loopback fails, and is recorded.
    const offLoopback: string[] = [];
    await context.route('**/*', (route) => {
      const { hostname } = new URL(route.request().url());
      if (hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]') return route.continue();
      offLoopback.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await page.goto(app.url);
      expect(await page.title()).toBe('Real-time events API');

      // Ready to use: the first tab holds the subscription of every event kind, the second
      // the mutations that make them happen, and nothing needs typing.
      const editor = page.locator('.graphiql-query-editor');
      await editor.waitFor({ timeout: 15_000 });
      await expect.poll(() => editor.textContent(), { timeout: 10_000 }).toContain('messageDelta');
      expect(await editor.textContent()).not.toContain('in-browser tool');
      // The README's quick start shows the same subscription, not a copy that could drift.
      expect(readFileSync(join(process.cwd(), 'README.md'), 'utf8')).toContain(EVERY_EVENT_SUBSCRIPTION.slice(EVERY_EVENT_SUBSCRIPTION.indexOf('subscription EveryEvent')));
      const tabs = page.locator('.graphiql-tab');
      expect(await tabs.count()).toBe(2);
      await page.getByRole('button', { name: /execute query/i }).click();

      // Live once the server holds the subscription; only then is an event guaranteed to reach it.
      await waitFor(() => app.subscriberCount() === 1, { what: 'the GraphiQL subscription on the server' });
      expect(app.webSocketClientCount()).toBe(1);
      await mutate(app.url, CREATE_JOB, { projectId: 'demo', source: 's3://offline/orders' });
      const run = (await mutate(app.url, START_RUN, { projectId: 'demo', agent: 'writer' })).startAgentRun;
      const message = (await mutate(app.url, START_MESSAGE, { runId: run.id, role: 'ASSISTANT' })).startAgentMessage;
      await mutate(app.url, APPEND_CONTENT, { runId: run.id, messageId: message.id, text: 'streamed-words' });

      const result = page.locator('.graphiql-response');
      await expect.poll(() => result.textContent(), { timeout: 10_000 }).toContain('streamed-words');
      expect(await result.textContent()).toContain('AGENT_MESSAGE_DELTA');

      // The second tab's first mutation runs as written.
      await tabs.nth(1).click();
      await expect.poll(() => editor.textContent(), { timeout: 10_000 }).toContain('createIngestJob');
      // As a user would: the cursor in the mutation to run, which is how GraphiQL picks the
      // operation of a document with several (clicked at once after the tab switch, it could
      // still hold the first tab's operation name, and refuse with "Cannot infer operation").
      await editor.getByText('createIngestJob').first().click();
      await page.getByRole('button', { name: /execute query/i }).click();
      const choice = page.getByRole('menuitem', { name: 'CreateJob' });
      if (await choice.isVisible().catch(() => false)) await choice.click();
      await expect.poll(() => result.textContent(), { timeout: 10_000 }).toContain('PENDING');
      const jobs = (await mutate(app.url, JOBS, { projectId: 'demo' })).ingestJobs as Array<{ source: string }>;
      expect(jobs.map((job) => job.source)).toContain('s3://raw/orders.csv');
      expect(offLoopback).toEqual([]);
      expect(pageErrors).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'graphiql.png'), animations: 'disabled' });
    } finally {
      await context.close();
    }
  }, 60_000);
});
