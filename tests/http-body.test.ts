import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from './support/clients.js';
import { JOBS } from './support/operations.js';
import { createAppPool, testConfig } from './support/servers.js';

const pool = createAppPool();
afterEach(() => pool.stopAll());

/** A POST with the given body (or only a declared length) and what came back. */
function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('JSON request bodies', () => {
  it('answers operations read from a JSON body, with parameters in the content type', async () => {
    const app = await pool.start(testConfig('memory', 'unused:'));
    expect(await request(app.url, JOBS, { projectId: 'p' })).toMatchObject({ status: 200, data: { ingestJobs: [] } });
    const withCharset = await post(app.url, JSON.stringify({ query: '{ ingestJobs(projectId: "p") { id } }' }), { 'content-type': 'application/json; charset=utf-8' });
    expect(withCharset).toEqual({ status: 200, json: { data: { ingestJobs: [] } } });
  });

  it('refuses a body over the limit with 413 before reading it', async () => {
    const app = await pool.start(testConfig('memory', 'unused:'));
    const refused = await new Promise<{ status: number; json: any }>((resolve, reject) => {
      // Declares more than the limit and sends a few bytes: the answer must not wait for the rest.
      const req = httpRequest(app.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '25000001' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      req.write('{"query":');
    });
    expect(refused).toEqual({ status: 413, json: { errors: [{ message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }] } });
  });

  it('refuses an SSE subscription body over the limit with 413 as it arrives, and keeps serving', async () => {
    const app = await pool.start(testConfig('memory', 'unused:'));
    // The server answers 413 and closes; a client still writing may see the close (EPIPE,
    // reset) before it reads the answer. Either way it must come long before the body ends.
    const refused = await new Promise<{ status?: number; json?: any; sent: number }>((resolve) => {
      // No length declared: the server counts what arrives and answers once it passes the limit.
      let sent = 0;
      let answered = false;
      const req = httpRequest(app.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } }, (response) => {
        answered = true;
        if (response.statusCode !== 413) {
          // Not refused (an event stream, say): what it says does not matter.
          resolve({ status: response.statusCode!, sent });
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')), sent });
          req.destroy();
        });
      });
      req.on('error', () => {
        if (!answered) resolve({ sent });
      });
      const piece = Buffer.alloc(1_000_000, 0x20);
      const write = () => {
        // Far past the limit unless the server answers first.
        while (!answered && sent < 60_000_000 && req.write(piece)) sent += piece.length;
        if (answered) return;
        if (sent < 60_000_000) req.once('drain', write);
        else req.end('"}');
      };
      req.write('{"query":"subscription { ingestJob(projectId: \\"p\\") { cursor } }", "x": "');
      write();
    });
    expect(refused.sent).toBeLessThan(60_000_000);
    if (refused.status !== undefined) {
      expect(refused.status).toBe(413);
      expect(refused.json).toEqual({ errors: [{ message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }] });
    }
    expect(await request(app.url, JOBS, { projectId: 'p' })).toMatchObject({ status: 200, data: { ingestJobs: [] } });
  });

  it('answers bodies that are not a GraphQL request as yoga does when it reads them itself', async () => {
    const app = await pool.start(testConfig('memory', 'unused:'));
    const bad = (message: string) => ({ errors: [expect.objectContaining({ message, extensions: expect.objectContaining({ code: 'BAD_REQUEST' }) })] });
    const cases: Array<[string, number, string]> = [
      ['', 400, 'POST body is not valid JSON: Unexpected end of JSON input'],
      ['{', 400, "POST body is not valid JSON: Expected property name or '}' in JSON at position 1"],
      ['{}', 200, 'Must provide query string.'],
      ['{"variables":{}}', 200, 'Must provide query string.'],
      ['"{ ingestJobs { id } }"', 400, 'POST body is expected to be object but received string'],
      ['42', 400, 'POST body is expected to be object but received number'],
      ['null', 400, 'POST body is expected to be object but received null'],
    ];
    for (const [body, status, message] of cases) {
      const answer = await post(app.url, body);
      expect({ body, ...answer }).toEqual({ body, status, json: bad(message) });
    }
    // A batch (yoga's batching is on, for producers) of no operations answers none.
    expect(await post(app.url, '[]')).toEqual({ status: 200, json: [] });
  });
});
