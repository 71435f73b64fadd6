import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { mutate } from '../support/clients.js';
import { CREATE_JOB } from '../support/operations.js';
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

const SUBSCRIPTION = 'subscription { ingestJob(projectId: "graphiql") { type job { source status } } }';

describe('GraphiQL in a real browser', () => {
  it('runs a subscription over WebSocket with every asset served by the server, nothing from other hosts', async () => {
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

      // The query editor; replace whatever GraphiQL starts with. insertText arrives as one
      // input, like a paste, so the editor adds no closing brackets of its own.
      const editor = page.locator('.graphiql-query-editor');
      await editor.waitFor({ timeout: 15_000 });
      await editor.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Delete');
      await page.keyboard.insertText(SUBSCRIPTION);
      await page.getByRole('button', { name: /execute query/i }).click();

      // Live once the server holds the subscription; only then is an event guaranteed to reach it.
      await waitFor(() => app.subscriberCount() === 1, { what: 'the GraphiQL subscription on the server' });
      expect(app.webSocketClientCount()).toBe(1);
      await mutate(app.url, CREATE_JOB, { projectId: 'graphiql', source: 's3://offline/orders' });

      const result = page.locator('.graphiql-response');
      await expect.poll(() => result.textContent(), { timeout: 10_000 }).toContain('s3://offline/orders');
      expect(await result.textContent()).toContain('INGEST_JOB_CREATED');
      expect(offLoopback).toEqual([]);
      expect(pageErrors).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'graphiql.png'), animations: 'disabled' });
    } finally {
      await context.close();
    }
  }, 60_000);
});
