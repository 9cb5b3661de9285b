import type { ClientRegistry } from '../auth/clients.js';
import type { ResourceIndexer, Store } from '../store/store.js';
import type { LoadedEvent } from '../../subscriptions/notification.js';
import { readable } from './access-store.js';
import type { AccessCompiler } from './request-access.js';

/** Keeps the events whose resource the subscription's owner may read now. */
export type NotificationAccess = (owner: string | undefined, events: LoadedEvent[]) => Promise<LoadedEvent[]>;

/**
 * Evaluated at delivery time against the resource's current state and the owner's current
 * registration: a revoked client, or a patient who left the practice, stops notifications at once.
 * A deleted resource is judged as it was before its deletion, so its readers hear of the delete.
 * Subscriptions written while authentication was off have no owner and are not filtered.
 */
export function notificationAccess(store: Store, indexer: ResourceIndexer, clients: ClientRegistry, compiler: AccessCompiler): NotificationAccess {
  return async (owner, events) => {
    if (!owner || !events.length) return events;
    const client = await clients.get(owner);
    if (!client || client.revoked) return [];
    const access = await compiler.forPrincipal({ clientId: client.id, org: client.org, kind: client.kind, scopes: client.scopes }).prepare(store.sql);
    const kept: LoadedEvent[] = [];
    for (const e of events) {
      const version = { resourceType: e.event.resourceType, id: e.event.resourceId };
      if (await readable(store, indexer, access, version)) kept.push(e);
    }
    return kept;
  };
}
