import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createEventsClient } from '../src/events-client.js';
import { EventsProvider } from '../src/provider.js';
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
      <Dashboard projectId={projectId} />
    </EventsProvider>
  </StrictMode>,
);
