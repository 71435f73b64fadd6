import type { ReactNode } from 'react';
import { createContext, useContext, useSyncExternalStore } from 'react';
import { Provider } from 'urql';
import type { ConnectionStatus, StatusStore } from './connection-status.js';
import type { EventsClient } from './events-client.js';

const StatusContext = createContext<StatusStore | undefined>(undefined);

/** Makes an events client available to the hooks below it. */
export function EventsProvider({ value, children }: { value: EventsClient; children: ReactNode }) {
  return (
    <Provider value={value.client}>
      <StatusContext.Provider value={value.status}>{children}</StatusContext.Provider>
    </Provider>
  );
}

/** The subscription connection's state. */
export function useConnectionStatus(): ConnectionStatus {
  const store = useContext(StatusContext);
  if (!store) throw new Error('useConnectionStatus needs an <EventsProvider> above it');
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}
