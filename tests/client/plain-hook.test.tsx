// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { useEffect, useState } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mutate } from '../support/clients.js';
import { COMPLETE_JOB, CREATE_JOB, UPDATE_PROGRESS } from '../support/operations.js';
import type { ServerProcess } from '../support/processes.js';
import { scrapeMetric, spawnServer } from '../support/processes.js';
import { REDIS_URL, redisForTests } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const { prefix } = redisForTests('plain-hook');
let server: ServerProcess;
let url: string;

beforeAll(async () => {
  server = spawnServer({ REDIS_URL, REDIS_KEY_PREFIX: prefix });
  url = await server.listening;
});
afterEach(() => cleanup());
afterAll(() => {
  server?.child.kill('SIGKILL');
});

/**
 * The hook as the README shows it: a bare WebSocket, each parsed message appended. The
 * global WebSocket is happy-dom's (Node 20 has none), as a browser's would be.
 */
function useEventStream(streamUrl: string) {
  const [events, setEvents] = useState<any[]>([]);
  useEffect(() => {
    const ws = new WebSocket(streamUrl);
    ws.onmessage = (event) => setEvents((prev) => [...prev, JSON.parse(event.data)]);
    return () => ws.close();
  }, [streamUrl]);
  return events;
}

function IngestJob({ streamUrl }: { streamUrl: string }) {
  const events = useEventStream(streamUrl);
  return (
    <ul data-testid="events">
      {events.map((event) => (
        <li key={event.cursor}>{`${event.type} ${event.job.progress}`}</li>
      ))}
    </ul>
  );
}

const subscriptions = () => scrapeMetric(url, 'rte_subscriptions{field="ingestJob",mode="shared"}');

describe('a React hook on a plain WebSocket stream', () => {
  it('renders each message of the job’s stream as it arrives, and the server lets go on unmount', async () => {
    const projectId = 'plain-hook';
    const job = (await mutate(url, CREATE_JOB, { projectId, source: 'hook' })).createIngestJob;
    const streamUrl = `${url.replace(/^http/, 'ws').replace(/\/graphql$/, '')}/api/stream/projects/${projectId}/ingest/${job.id}`;
    const view = render(<IngestJob streamUrl={streamUrl} />);
    await waitFor(async () => (await subscriptions()) === 1, { what: "the hook's stream" });

    await mutate(url, UPDATE_PROGRESS, { id: job.id, progress: 0.5 });
    await mutate(url, COMPLETE_JOB, { id: job.id });
    const expected = ['ingest.job.updated 0.5', 'ingest.job.completed 1'];
    await waitFor(() => screen.getByTestId('events').children.length === expected.length, { what: 'both events rendered' });
    expect([...screen.getByTestId('events').children].map((item) => item.textContent)).toEqual(expected);

    view.unmount();
    await waitFor(async () => (await subscriptions()) === 0, { what: 'the stream to be released' });
  });
});
