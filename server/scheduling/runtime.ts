import type { Store } from '../store/store.js';

// The store below the access layer, for the housekeeping a client's request triggers on everyone's
// behalf (expiring lapsed holds, remembering proposals): set once at start by the services.
let base: Store | undefined;

export function configureScheduling(store: Store): void {
  base = store;
}

export function schedulingStore(): Store {
  if (!base) throw new Error('scheduling is not configured (configureScheduling was not called at start)');
  return base;
}
