import type { Organization, PractitionerRole, Reference, Task } from '@medplum/fhirtypes';
import { ODS_SYSTEM } from '../auth/principal.js';
import type { Store, Writer } from '../store/store.js';
import type { Party } from './task-states.js';
import { parseLiteral } from '../fhir/reference.js';

/** `Type/id` of a literal reference (relative, or absolute ending in it). */
export function referenceTo(reference: Reference | undefined, type?: string): { resourceType: string; id: string } | undefined {
  const ref = reference?.reference ? parseLiteral(reference.reference) : undefined;
  if (!ref || (type && ref.resourceType !== type)) return undefined;
  return { resourceType: ref.resourceType, id: ref.id };
}

/** The current version of a resource, or undefined when absent or deleted. */
export async function readCurrent<T>(store: Store, type: string, id: string): Promise<T | undefined> {
  const version = await store.read(type, id);
  return version && !version.deleted && version.content ? (JSON.parse(version.content) as T) : undefined;
}

/**
 * The ODS code of the organisation a reference stands for: an Organization (by its ODS identifier),
 * a PractitionerRole (by its organization), or a logical reference by ODS identifier.
 */
export async function odsCodeOf(store: Store, reference: Reference | undefined): Promise<string | undefined> {
  if (!reference) return undefined;
  if (reference.identifier?.system === ODS_SYSTEM) return reference.identifier.value;
  const target = referenceTo(reference);
  if (target?.resourceType === 'Organization') {
    const org = await readCurrent<Organization>(store, 'Organization', target.id);
    return org?.identifier?.find((i) => i.system === ODS_SYSTEM)?.value;
  }
  if (target?.resourceType === 'PractitionerRole') {
    const role = await readCurrent<PractitionerRole>(store, 'PractitionerRole', target.id);
    return role?.organization && referenceTo(role.organization, 'Organization') ? odsCodeOf(store, role.organization) : undefined;
  }
  return undefined;
}

/**
 * Which parties of the referral the writer is: its organisation (ODS code in its token) is the
 * Task's requester or owner, or the organisation of the PractitionerRole named there. The hub's
 * administrators act for either.
 */
export async function partiesOf(store: Store, task: Task, writer: Writer): Promise<Party[]> {
  if (writer.kind === 'admin') return ['requester', 'owner'];
  const parties: Party[] = [];
  if ((await odsCodeOf(store, task.requester)) === writer.org) parties.push('requester');
  if ((await odsCodeOf(store, task.owner)) === writer.org) parties.push('owner');
  return parties;
}
