import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { launchChromium } from '../support/browser.js';
import { mutate } from '../support/clients.js';
import { CREATE_JOB } from '../support/operations.js';
import { createAppPool, testConfig } from '../support/servers.js';

/**
 * One origin policy, as a browser meets it: a page on an allowed origin queries over HTTP
 * (with a preflight, since it sends Authorization and JSON), streams over GraphQL SSE and
 * connects a WebSocket; a page on another origin can do none of it.
 */

const pool = createAppPool();
const pages: Server[] = [];
let browser: Browser;
let api: App;
let allowedOrigin: string;
let refusedOrigin: string;

async function servePage(): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>another origin</title>');
  });
  pages.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

beforeAll(async () => {
  [allowedOrigin, refusedOrigin] = await Promise.all([servePage(), servePage()]);
  api = await pool.start(testConfig('memory', 'cors:', { allowedOrigins: [allowedOrigin] }));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(pages.map((server) => new Promise((resolve) => server.close(resolve))));
  await pool.stopAll();
});

interface Probe {
  http: string;
  sse: string;
  ws: string;
}

/** What a page on `origin` gets from each transport, as the strings its own script saw. */
async function probeFrom(origin: string, projectId: string): Promise<Probe> {
  const page = await browser.newPage();
  try {
    await page.goto(origin);
    return await page.evaluate(
      async ({ url, projectId }) => {
        const attempt = async (run: () => Promise<string>) => {
          try {
            return await run();
          } catch (error) {
            return `failed: ${(error as Error).name}`;
          }
        };
        const http = await attempt(async () => {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer none-needed' },
            body: JSON.stringify({ query: 'query ($p: ID!) { ingestJobs(projectId: $p) { source } }', variables: { p: projectId } }),
          });
          return JSON.stringify(await response.json());
        });
        const sse = await attempt(async () => {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
            body: JSON.stringify({ query: 'subscription ($p: ID!) { ingestJob(projectId: $p) { type } }', variables: { p: projectId } }),
          });
          // The stream opened and may be read: that is all CORS decides.
          const reader = response.body!.getReader();
          await reader.cancel();
          return `stream ${response.status}`;
        });
        const ws = await new Promise<string>((resolve) => {
          const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
          socket.onopen = () => {
            socket.close();
            resolve('open');
          };
          socket.onerror = () => resolve('failed');
        });
        return { http, sse, ws };
      },
      { url: api.url, projectId },
    );
  } finally {
    await page.close();
  }
}

describe('CORS in a real browser', () => {
  it('lets a page on an allowed origin use HTTP, SSE and WebSocket', async () => {
    await mutate(api.url, CREATE_JOB, { projectId: 'cors', source: 'visible' });
    expect(await probeFrom(allowedOrigin, 'cors')).toEqual({
      http: JSON.stringify({ data: { ingestJobs: [{ source: 'visible' }] } }),
      sse: 'stream 200',
      ws: 'open',
    });
  });

  it('refuses a page on any other origin on every transport', async () => {
    expect(await probeFrom(refusedOrigin, 'cors')).toEqual({ http: 'failed: TypeError', sse: 'failed: TypeError', ws: 'failed' });
  });

  it('answers preflights for allowed origins only, and never allows credentials', async () => {
    const preflight = (origin: string) =>
      fetch(api.url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
    const allowed = await preflight(allowedOrigin);
    expect([allowed.status, allowed.headers.get('access-control-allow-origin'), allowed.headers.get('access-control-allow-credentials')]).toEqual([
      204,
      allowedOrigin,
      null,
    ]);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const refused = await preflight(refusedOrigin);
    expect([refused.status, refused.headers.get('access-control-allow-origin')]).toEqual([403, null]);
  });
});
