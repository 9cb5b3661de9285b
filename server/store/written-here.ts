import type { Resource } from '@medplum/fhirtypes';

/**
 * What one open transaction has written so far, as the store wrote it. Write rules read from it what
 * they would otherwise read back with a statement per entry: a resource this transaction created is
 * seen by nobody else until it commits, so whatever refers to it was written here (a transaction
 * Bundle's Patient and the Appointments and prescriptions it carries for them).
 */
export class WrittenHere {
  /** `Type/id` of the resources a create brought into existence here (an id no row had: a taken one fails the transaction). */
  private readonly createdHere = new Set<string>();
  /** Type → id → the current version written here, or undefined once deleted here; in the order first written. */
  private readonly current = new Map<string, Map<string, Resource | undefined>>();

  noteCreate(resource: Resource & { id: string }): void {
    this.createdHere.add(`${resource.resourceType}/${resource.id}`);
    this.noteUpdate(resource);
  }

  noteUpdate(resource: Resource & { id: string }): void {
    this.ofType(resource.resourceType).set(resource.id, resource);
  }

  noteDelete(resourceType: string, id: string): void {
    this.ofType(resourceType).set(id, undefined);
  }

  /** Created in this transaction: nothing outside it can have referred to it yet. */
  isNew(resourceType: string, id: string): boolean {
    return this.createdHere.has(`${resourceType}/${id}`);
  }

  /** The live resources of a type written here, in the order first written. */
  live(resourceType: string): Resource[] {
    return [...(this.current.get(resourceType)?.values() ?? [])].filter((r): r is Resource => r !== undefined);
  }

  private ofType(resourceType: string): Map<string, Resource | undefined> {
    let byId = this.current.get(resourceType);
    if (!byId) this.current.set(resourceType, (byId = new Map()));
    return byId;
  }
}
