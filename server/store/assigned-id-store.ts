import type { Resource } from '@medplum/fhirtypes';
import { DelegatingStore } from './delegating-store.js';
import type { Store, WriteResult } from './store.js';

/**
 * A store whose `create` lands on an id chosen before any entry of a transaction ran. A transaction
 * must know every new id up front to rewrite urn:uuid references, circular ones included
 * (https://hl7.org/fhir/R4/http.html#trules), so the create interaction runs unchanged and lands on
 * that id.
 */
export class AssignedIdStore extends DelegatingStore {
  constructor(
    inner: Store,
    private readonly id: string,
  ) {
    super(inner);
  }

  override create(resource: Resource): Promise<WriteResult> {
    return this.inner.create(resource, this.id);
  }

  protected over(inner: Store): Store {
    return new AssignedIdStore(inner, this.id);
  }
}
