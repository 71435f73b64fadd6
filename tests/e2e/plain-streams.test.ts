import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dottedEventName } from '../../src/events/event-names.js';
import { EVENT_TYPES } from '../../src/events/event-record.js';
import { launchChromium } from '../support/browser.js';
import { mutate } from '../support/clients.js';
import { APPEND_MESSAGE, CREATE_JOB, START_RUN, UPDATE_PROGRESS, cursorSeq } from '../support/operations.js';
import type { PlainMessage } from '../support/plain-clients.js';
import type { ServerProcess } from '../support/processes.js';
import { freePort, scrapeMetric, spawnServer } from '../support/processes.js';
import { REDIS_URL, redisForTests } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const { prefix } = redisForTests('e2e-plain');

/**
 * A page that reads plain streams the way a frontend without GraphQL does: a bare WebSocket
 * (reconnecting after the last cursor it saw) and an EventSource (which resumes by itself).
 * EventSource dispatches each event under its `event:` name, so it listens to every type.
 */
const PAGE = `<!doctype html>
<html><body>
<ul id="ws"></ul><ul id="sse"></ul>
<script>
  const params = new URLSearchParams(location.search);
  const api = params.get('api');
  const path = '/api/stream/projects/' + params.get('project');
  window.received = { ws: [], sse: [], wsCloses: [], sseErrors: 0, sseOpens: 0 };
  let lastCursor;
  function show(list, message) {
    const item = document.createElement('li');
    item.textContent = message.type + ' ' + message.cursor;
    document.getElementById(list).append(item);
  }
  function connect() {
    const socket = new WebSocket(api.replace(/^http/, 'ws') + path + (lastCursor ? '?after=' + lastCursor : ''));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      window.received.ws.push(message);
      lastCursor = message.cursor;
      show('ws', message);
    };
    socket.onclose = (event) => {
      window.received.wsCloses.push(event.code);
      setTimeout(connect, 200);
    };
  }
  connect();
  const source = new EventSource(api + path);
  source.onopen = () => window.received.sseOpens++;
  source.onerror = () => window.received.sseErrors++;
  for (const type of params.get('types').split(',')) {
    source.addEventListener(type, (event) => {
      const message = JSON.parse(event.data);
      window.received.sse.push({ ...message, lastEventId: event.lastEventId });
      show('sse', message);
    });
  }
</script>
</body></html>`;

let staticServer: Server;
let staticUrl: string;
let browser: Browser;
const servers: ServerProcess[] = [];
const pages: Page[] = [];

beforeAll(async () => {
  staticServer = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(PAGE);
  });
  await new Promise<void>((resolve) => staticServer.listen(0, '127.0.0.1', resolve));
  staticUrl = `http://127.0.0.1:${(staticServer.address() as { port: number }).port}`;
  browser = await launchChromium();
}, 60_000);

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.close()));
  for (const server of servers.splice(0)) server.child.kill('SIGKILL');
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => staticServer?.close(resolve));
});

type Received = { ws: PlainMessage[]; sse: Array<PlainMessage & { lastEventId: string }>; wsCloses: number[]; sseErrors: number; sseOpens: number };

describe('plain streams in a real browser', () => {
  it('native WebSocket and EventSource from another origin receive events and ride through a server restart, losing and repeating nothing', async () => {
    // The page's origin is the only one allowed: the browser sends it on both transports.
    const env = { PORT: String(await freePort()), REDIS_URL, REDIS_KEY_PREFIX: prefix, WS_ALLOWED_ORIGINS: staticUrl };
    let serving = spawnServer(env);
    const publisher = spawnServer({ REDIS_URL, REDIS_KEY_PREFIX: prefix });
    servers.push(serving, publisher);
    const [servingUrl, publisherUrl] = await Promise.all([serving.listening, publisher.listening]);
    const projectId = 'e2e-plain';
    const api = new URL(servingUrl).origin;
    const job = (await mutate(publisherUrl, CREATE_JOB, { projectId, source: 'before the page' })).createIngestJob;

    const page = await browser.newPage();
    pages.push(page);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const types = EVENT_TYPES.map(dottedEventName).join(',');
    await page.goto(`${staticUrl}/?api=${encodeURIComponent(api)}&project=${projectId}&types=${types}`);
    const received = () => page.evaluate(() => (window as unknown as { received: Received }).received);
    const shared = 'rte_subscriptions{field="projectEvents",mode="shared"}';
    await waitFor(async () => (await scrapeMetric(servingUrl, shared)) === 2, { what: 'both browser streams', timeoutMs: 10_000 });

    await mutate(publisherUrl, UPDATE_PROGRESS, { id: job.id, progress: 0.25 });
    const run = (await mutate(publisherUrl, START_RUN, { projectId, agent: 'browser' })).startAgentRun;
    await mutate(publisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'USER', content: 'before the restart' });
    await waitFor(async () => (await received()).ws.length === 3 && (await received()).sse.length === 3, { what: 'the first three events' });

    // The server behind the page is killed; work goes on elsewhere; it comes back on its port.
    serving.child.kill('SIGKILL');
    await serving.exited;
    await waitFor(async () => (await received()).wsCloses.length > 0 && (await received()).sseErrors > 0, { what: 'both streams to notice' });
    await mutate(publisherUrl, UPDATE_PROGRESS, { id: job.id, progress: 0.5 });
    await mutate(publisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content: 'while the server was down' });
    serving = spawnServer(env);
    servers.push(serving);
    await serving.listening;
    await waitFor(async () => (await scrapeMetric(servingUrl, shared)) === 2, { what: 'both browser streams back', timeoutMs: 15_000 });
    await mutate(publisherUrl, APPEND_MESSAGE, { runId: run.id, role: 'ASSISTANT', content: 'after the restart' });
    await mutate(publisherUrl, UPDATE_PROGRESS, { id: job.id, progress: 1, message: 'marker' });

    const isMarker = (message: PlainMessage) => (message.job as { message?: string } | undefined)?.message === 'marker';
    await waitFor(async () => (await received()).ws.some(isMarker) && (await received()).sse.some(isMarker), {
      what: 'the marker on both streams',
      timeoutMs: 15_000,
    });
    const { ws, sse, sseOpens } = await received();
    const expected = [
      ['ingest.job.updated', 0.25],
      ['agent.run.created', 'PENDING'],
      ['agent.message.appended', 'before the restart'],
      ['ingest.job.updated', 0.5],
      ['agent.message.appended', 'while the server was down'],
      ['agent.message.appended', 'after the restart'],
      ['ingest.job.updated', 1],
    ];
    const summary = (message: PlainMessage) => [
      message.type,
      (message.job as { progress: number } | undefined)?.progress ??
        (message.message as { content: string } | null | undefined)?.content ??
        (message.run as { status: string }).status,
    ];
    expect(ws.map(summary)).toEqual(expected);
    expect(sse.map(summary)).toEqual(expected);
    // Consecutive positions: nothing lost, nothing repeated, across the restart.
    const first = cursorSeq(ws[0]!.cursor);
    expect(ws.map((message) => cursorSeq(message.cursor))).toEqual(expected.map((_, index) => first + index));
    expect(sse.map((message) => message.cursor)).toEqual(ws.map((message) => message.cursor));
    // EventSource knew each event's id, and reconnected on its own after the restart.
    expect(sse.map((message) => message.lastEventId)).toEqual(sse.map((message) => message.cursor));
    expect(sseOpens).toBeGreaterThanOrEqual(2);
    expect(pageErrors).toEqual([]);
    expect(await page.locator('#ws li').count()).toBe(expected.length);
  }, 60_000);
});
