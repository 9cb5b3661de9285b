import { DelegatingStore } from '../store/delegating-store.js';
import type { HistoryPage, HistoryQuery, ResourceVersion, Store } from '../store/store.js';
import { auditHistoryPage } from './trail-history.js';
import { auditVersionOf, readAuditRow } from './trail-row.js';

/**
 * The store with AuditEvent read from the audit trail's own table (read, vread, history): each
 * event is one row, built into its AuditEvent when read. Everything else passes through.
 */
export class AuditTrailStore extends DelegatingStore {
  override read(resourceType: string, id: string): Promise<ResourceVersion | undefined> {
    return resourceType === 'AuditEvent' ? this.readAuditEvent(id) : this.inner.read(resourceType, id);
  }

  /** An AuditEvent is never written through the store: nothing to lock. */
  override readForUpdate(resourceType: string, id: string): Promise<ResourceVersion | undefined> {
    return resourceType === 'AuditEvent' ? this.readAuditEvent(id) : this.inner.readForUpdate(resourceType, id);
  }

  override async readMany(refs: Array<{ resourceType: string; id: string }>): Promise<ResourceVersion[]> {
    const events = refs.filter((r) => r.resourceType === 'AuditEvent');
    if (!events.length) return this.inner.readMany(refs);
    const others = await this.inner.readMany(refs.filter((r) => r.resourceType !== 'AuditEvent'));
    const found = await Promise.all(events.map((r) => this.readAuditEvent(r.id)));
    return [...others, ...found.filter((v): v is ResourceVersion => !!v)];
  }

  /** An AuditEvent has one version: it never changes. */
  override vread(resourceType: string, id: string, versionId: number): Promise<ResourceVersion | undefined> {
    if (resourceType !== 'AuditEvent') return this.inner.vread(resourceType, id, versionId);
    return versionId === 1 ? this.readAuditEvent(id) : Promise.resolve(undefined);
  }

  override history(query: HistoryQuery): Promise<HistoryPage> {
    return query.resourceType === 'AuditEvent' ? auditHistoryPage(this.inner.sql, query) : this.inner.history(query);
  }

  protected over(inner: Store): Store {
    return new AuditTrailStore(inner);
  }

  private async readAuditEvent(id: string): Promise<ResourceVersion | undefined> {
    const row = await readAuditRow(this.inner.sql, id);
    return row && auditVersionOf(row);
  }
}
