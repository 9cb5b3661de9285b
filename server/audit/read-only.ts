import type { Resource } from '@medplum/fhirtypes';
import { notSupported } from '../errors.js';
import type { Store } from '../store/store.js';

/**
 * The API's store with AuditEvent made read-only: create, update (patch goes through it) and delete
 * of an AuditEvent are 405. The audit writer uses the raw store underneath.
 */
export function auditReadOnly(store: Store): Store {
  // A Proxy forwards whatever the Store seam grows to hold; only the writes and transaction are wrapped.
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'create') return (resource: Resource, id?: string) => refuse(resource.resourceType) ?? target.create(resource, id);
      if (prop === 'update') return (resource: Resource & { id: string }, ifMatch?: number) => refuse(resource.resourceType) ?? target.update(resource, ifMatch);
      if (prop === 'delete') return (resourceType: string, id: string, ifMatch?: number) => refuse(resourceType) ?? target.delete(resourceType, id, ifMatch);
      if (prop === 'transaction') return <T>(fn: (s: Store) => Promise<T>) => target.transaction((tx) => fn(auditReadOnly(tx)));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function refuse(resourceType: string): Promise<never> | undefined {
  if (resourceType !== 'AuditEvent') return undefined;
  return Promise.reject(notSupported(405, 'AuditEvents are written by the server only; they cannot be created, changed or deleted through the API'));
}
