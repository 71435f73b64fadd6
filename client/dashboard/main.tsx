import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { EventsProvider, createEventsClient } from '@realtime-events/client';
import { Dashboard } from './dashboard.js';
import './styles.css';

// ?project=<id> picks the project, ?api=<url> another API, ?token=<jwt> a token.
const params = new URLSearchParams(location.search);
const projectId = params.get('project') ?? 'demo';
const url = params.get('api') ?? `${location.origin}/graphql`;
const token = params.get('token') ?? undefined;
const events = createEventsClient({ url, token });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <EventsProvider value={events}>
      <Dashboard projectId={projectId} apiUrl={url} />
    </EventsProvider>
  </StrictMode>,
);
