import { WriteGuardStore, type RequiredProfiles, type WriteRule } from '../profiles/write-guard.js';
import { AccessStore, type AccessIndexer } from './access/access-store.js';
import type { RequestAccess } from './access/request-access.js';
import { AuditTrailStore } from './audit/trail-store.js';
import { AssignedIdStore } from './store/assigned-id-store.js';
import type { Db } from './store/db.js';
import { SqlStore } from './store/resource-store.js';
import type { ResourceIndexer, Store } from './store/store.js';

// The store stack, built here and nowhere else. Each layer is a DelegatingStore
// (server/store/delegating-store.ts) that overrides only what it adds; innermost first:
//
//   1. SqlStore          server/store/resource-store.ts     rows, history, index rows, change log (outbox)
//   2. WriteGuardStore   profiles/write-guard.ts            required profiles, business rules, write rules
//   3. AuditTrailStore   server/audit/trail-store.ts        AuditEvent read from the audit trail's table
//      ── hubStore: built once; the hub's own work (seeding, scheduling, workers) uses it ──
//   4. AccessStore       server/access/access-store.ts      what the calling client may read and write
//      ── requestStore `client`: per request, over the hub's store or a transaction of it ──
//   5. AssignedIdStore   server/store/assigned-id-store.ts  a transaction entry's create lands on its planned id
//      ── requestStore `assignedId`: per entry of a transaction, over the request's store ──
//
// Why this order: access judges a write before it is validated and checks the row once written,
// and the write rules' consequences run beneath it as the hub's own writes, under no client's
// policy; an assigned id is one transaction entry's own. (AuditEvents are not written through the
// API at all: the route table refuses those interactions, server/rest/routes.ts.)

/** Layers 1–3: the store the hub itself uses, and the one every request's store is built over. */
export function hubStore(db: Db, indexer: ResourceIndexer, writes: { required: RequiredProfiles; rules: readonly WriteRule[] }): Store {
  return new AuditTrailStore(WriteGuardStore.guarding(new SqlStore(db, indexer), writes.required, writes.rules));
}

/** What one request, or one entry of a transaction, adds; each part adds its layer, in the stack's order. */
export interface RequestLayers {
  /** Layer 4: the calling client's access (absent when authentication is off: unrestricted). */
  client?: { access: RequestAccess; indexer: AccessIndexer };
  /** Layer 5: the id a transaction entry's create lands on. */
  assignedId?: string;
}

/** The store one request (or one transaction entry) sees, over `on`: the hub's store, a transaction of it, or the request's store. */
export function requestStore(on: Store, layers: RequestLayers): Store {
  let store = on;
  // Beneath the client's access, its writes are made for it: the write rules see who writes.
  if (layers.client) store = new AccessStore(store.writingFor(layers.client.access.principal), layers.client.access, layers.client.indexer);
  if (layers.assignedId) store = new AssignedIdStore(store, layers.assignedId);
  return store;
}
