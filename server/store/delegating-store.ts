import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Queryable } from './db.js';
import type { WrittenHere } from './written-here.js';
import type { HistoryPage, HistoryQuery, ResourceVersion, Store, WriteResult, Writer } from './store.js';

/**
 * A layer of the store stack (server/store-stack.ts): every method goes to the store beneath it, so
 * a layer overrides only what it adds. Inside a transaction the layer holds too: `transaction` runs
 * the callback on the same layer over the inner store's transaction.
 */
export abstract class DelegatingStore implements Store {
  constructor(protected readonly inner: Store) {}

  get sql(): Queryable {
    return this.inner.sql;
  }

  get writtenHere(): WrittenHere | undefined {
    return this.inner.writtenHere;
  }

  writeIssues(resource: Resource): Promise<OperationOutcomeIssue[]> {
    return this.inner.writeIssues(resource);
  }

  read(resourceType: string, id: string): Promise<ResourceVersion | undefined> {
    return this.inner.read(resourceType, id);
  }

  readForUpdate(resourceType: string, id: string): Promise<ResourceVersion | undefined> {
    return this.inner.readForUpdate(resourceType, id);
  }

  readMany(refs: Array<{ resourceType: string; id: string }>): Promise<ResourceVersion[]> {
    return this.inner.readMany(refs);
  }

  vread(resourceType: string, id: string, versionId: number): Promise<ResourceVersion | undefined> {
    return this.inner.vread(resourceType, id, versionId);
  }

  create(resource: Resource, id?: string): Promise<WriteResult> {
    return this.inner.create(resource, id);
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

  writingFor(writer: Writer | undefined): Store {
    return this.over(this.inner.writingFor(writer));
  }

  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) => fn(this.over(tx)));
  }

  /** This layer, as configured, over another store: the inner one bound to a transaction. */
  protected abstract over(inner: Store): Store;
}
