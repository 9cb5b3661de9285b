import type { Store } from '../store/store.js';
import { auditHistoryPage } from './trail-history.js';
import { auditVersionOf, readAuditRow } from './trail-row.js';

/**
 * The store with AuditEvent read from the audit trail's own table (read, vread, history): each
 * event is one row, built into its AuditEvent when read. Everything else passes through.
 */
export function withAuditTrailReads(store: Store): Store {
  // A Proxy forwards whatever the Store seam grows to hold; only the reads and transaction are wrapped.
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'read') return (resourceType: string, id: string) => (resourceType === 'AuditEvent' ? readAuditEvent(target, id) : target.read(resourceType, id));
      if (prop === 'vread') {
        return (resourceType: string, id: string, versionId: number) =>
          resourceType !== 'AuditEvent' ? target.vread(resourceType, id, versionId) : versionId === 1 ? readAuditEvent(target, id) : Promise.resolve(undefined);
      }
      if (prop === 'history') return (query: Parameters<Store['history']>[0]) => (query.resourceType === 'AuditEvent' ? auditHistoryPage(target.sql, query) : target.history(query));
      if (prop === 'transaction') return <T>(fn: (s: Store) => Promise<T>) => target.transaction((tx) => fn(withAuditTrailReads(tx)));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function readAuditEvent(store: Store, id: string): Promise<ReturnType<typeof auditVersionOf> | undefined> {
  const row = await readAuditRow(store.sql, id);
  return row && auditVersionOf(row);
}
