import type { Resource } from '@medplum/fhirtypes';
import { parseLiteral } from '../fhir/reference.js';
import { referenceSites } from '../fhir/reference-sites.js';

/**
 * What one open transaction has written so far, as the store wrote it. Write rules read from it what
 * they would otherwise read back with a statement per entry: a resource this transaction created is
 * seen by nobody else until it commits, so whatever refers to it was written here (a transaction
 * Bundle's Patient and the Appointments and prescriptions it carries for them).
 */
export class WrittenHere {
  /** `Type/id` of the resources a create brought into existence here (an id no row had: a taken one fails the transaction). */
  private readonly createdHere = new Set<string>();
  /** Type → id → the current version written here, or undefined once deleted here. */
  private readonly current = new Map<string, Map<string, Resource | undefined>>();
  /** Type → referenced `Type/id` → ids of the live resources of that type referring to it; built for a type when first asked. */
  private readonly referrers = new Map<string, Map<string, Set<string>>>();

  noteCreate(resource: Resource & { id: string }): void {
    this.createdHere.add(`${resource.resourceType}/${resource.id}`);
    this.noteUpdate(resource);
  }

  noteUpdate(resource: Resource & { id: string }): void {
    this.replace(resource.resourceType, resource.id, resource);
  }

  noteDelete(resourceType: string, id: string): void {
    this.replace(resourceType, id, undefined);
  }

  /** Created in this transaction: nothing outside it can have referred to it yet. */
  isNew(resourceType: string, id: string): boolean {
    return this.createdHere.has(`${resourceType}/${id}`);
  }

  /**
   * The live resources of a type written here with a reference to `target` (`Type/id`, relative or
   * below any base, any version): every one a search by that reference could match, and perhaps more.
   */
  referringTo(resourceType: string, target: string): Resource[] {
    const byId = this.current.get(resourceType);
    const ids = this.referrersOf(resourceType).get(target) ?? [];
    return [...ids].map((id) => byId?.get(id)).filter((r): r is Resource => r !== undefined);
  }

  private replace(resourceType: string, id: string, next: Resource | undefined): void {
    let byId = this.current.get(resourceType);
    if (!byId) this.current.set(resourceType, (byId = new Map()));
    const byTarget = this.referrers.get(resourceType);
    if (byTarget) {
      const previous = byId.get(id);
      if (previous) for (const target of targetsOf(previous)) byTarget.get(target)?.delete(id);
      if (next) addReferrer(byTarget, next);
    }
    byId.set(id, next);
  }

  private referrersOf(resourceType: string): Map<string, Set<string>> {
    let byTarget = this.referrers.get(resourceType);
    if (!byTarget) {
      this.referrers.set(resourceType, (byTarget = new Map()));
      for (const resource of this.current.get(resourceType)?.values() ?? []) if (resource) addReferrer(byTarget, resource);
    }
    return byTarget;
  }
}

function addReferrer(byTarget: Map<string, Set<string>>, resource: Resource): void {
  for (const target of targetsOf(resource)) {
    let ids = byTarget.get(target);
    if (!ids) byTarget.set(target, (ids = new Set()));
    ids.add(resource.id as string);
  }
}

function targetsOf(resource: Resource): string[] {
  return referenceSites(resource, '').flatMap((site) => {
    const ref = parseLiteral(site.value);
    return ref ? [`${ref.resourceType}/${ref.id}`] : [];
  });
}
