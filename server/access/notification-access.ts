import type { ClientRegistry } from '../auth/clients.js';
import type { Queryable } from '../store/db.js';
import type { LoadedEvent } from '../../subscriptions/notification.js';
import { allowed } from './access-store.js';
import type { AccessCompiler } from './request-access.js';

/** Keeps the events whose resource the subscription's owner may read now. */
export type NotificationAccess = (owner: string | undefined, events: LoadedEvent[]) => Promise<LoadedEvent[]>;

/**
 * Evaluated at delivery time against the resource's current state and the owner's current
 * registration: a revoked client, or a patient who left the practice, stops notifications at once.
 * Subscriptions written while authentication was off have no owner and are not filtered.
 */
export function notificationAccess(db: Queryable, clients: ClientRegistry, compiler: AccessCompiler): NotificationAccess {
  return async (owner, events) => {
    if (!owner || !events.length) return events;
    const client = await clients.get(owner);
    if (!client || client.revoked) return [];
    const access = await compiler.forPrincipal({ clientId: client.id, org: client.org, kind: client.kind, scopes: client.scopes }).prepare(db);
    const kept: LoadedEvent[] = [];
    for (const e of events) {
      const version = { resourceType: e.event.resourceType, id: e.event.resourceId };
      if (await allowed(db, access, version, 'r')) kept.push(e);
    }
    return kept;
  };
}
