import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../../store/db.js';
import type { HistoryPage, HistoryQuery, ResourceVersion, Store, WriteResult } from '../../store/store.js';

/**
 * The transaction's store, except that `create` uses an id chosen before any entry ran. A
 * transaction must know every new id up front to rewrite urn:uuid references, circular ones
 * included (https://hl7.org/fhir/R4/http.html#trules), so the create interaction runs unchanged
 * and lands on that id.
 */
export class AssignedIdStore implements Store {
  constructor(
    private readonly inner: Store,
    private readonly id: string,
  ) {}

  get sql(): Queryable {
    return this.inner.sql;
  }

  create(resource: Resource): Promise<WriteResult> {
    return this.inner.create(resource, this.id);
  }

  read(resourceType: string, id: string): Promise<ResourceVersion | undefined> {
    return this.inner.read(resourceType, id);
  }

  readMany(refs: Array<{ resourceType: string; id: string }>): Promise<ResourceVersion[]> {
    return this.inner.readMany(refs);
  }

  vread(resourceType: string, id: string, versionId: number): Promise<ResourceVersion | undefined> {
    return this.inner.vread(resourceType, id, versionId);
  }

  update(resource: Resource & { id: string }, ifMatch?: number): Promise<WriteResult> {
    return this.inner.update(resource, ifMatch);
  }

  delete(resourceType: string, id: string, ifMatch?: number): Promise<ResourceVersion | undefined> {
    return this.inner.delete(resourceType, id, ifMatch);
  }

  history(query: HistoryQuery): Promise<HistoryPage> {
    return this.inner.history(query);
  }

  /** Already inside the bundle's transaction: join it, keeping the assigned id. */
  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    return fn(this);
  }
}
