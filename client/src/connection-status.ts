/** What a live view shows about its connection. */
export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'error';

/** A tiny observable value, in the shape `useSyncExternalStore` reads. */
export interface StatusStore {
  get(): ConnectionStatus;
  subscribe(listener: () => void): () => void;
}

export function createStatusStore(initial: ConnectionStatus = 'connecting') {
  let status = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => status,
    set(next: ConnectionStatus) {
      if (next === status) return;
      status = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
