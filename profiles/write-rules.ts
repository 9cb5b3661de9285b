import type { CarePlan, CareTeam, CareTeamParticipant, MedicationRequest, OperationOutcomeIssue, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { issue } from '../server/errors';
import { containedId, idOf } from '../server/fhir/reference';
import { CANONICAL } from './package-build';

// Business rules a profile cannot state because they need another resource: checked at write time
// with a read of the store (inside the write's transaction, so a role written earlier in the same
// transaction Bundle counts).

export type ReadResource = (resourceType: string, id: string) => Promise<Resource | undefined>;

const PHARMACIST_PRESCRIPTION = `${CANONICAL}/StructureDefinition/CommunityPharmacistPrescription`;
const SNOMED = 'http://snomed.info/sct';
const PHARMACIST_PRESCRIBER = '734294007';
export const NEIGHBOURHOOD_CARE_PLAN = `${CANONICAL}/StructureDefinition/NeighbourhoodCarePlan`;
const CARE_COORDINATOR = '768820003';

/** Problems of the business rules that apply to a resource held to these profiles (claimed or required). */
export async function businessRuleIssues(resource: Resource, profiles: readonly string[], read: ReadResource): Promise<OperationOutcomeIssue[]> {
  if (resource.resourceType === 'MedicationRequest' && profiles.some((p) => p.split('|')[0] === PHARMACIST_PRESCRIPTION)) {
    return requesterIsPharmacistPrescriber(resource, read);
  }
  if (resource.resourceType === 'CarePlan' && profiles.some((p) => p.split('|')[0] === NEIGHBOURHOOD_CARE_PLAN)) {
    return authoredByTheCareCoordinator(resource, read);
  }
  return [];
}

/**
 * A NeighbourhoodCarePlan is for the patient's own CareTeam, and its author is that team's current
 * care coordinator (the one point of contact the team names).
 */
async function authoredByTheCareCoordinator(plan: CarePlan, read: ReadResource): Promise<OperationOutcomeIssue[]> {
  const teamRef = plan.careTeam?.[0]?.reference;
  const teamId = idOf(teamRef, 'CareTeam');
  if (!teamRef) return []; // the profile reports a missing careTeam
  const team = teamId ? ((await read('CareTeam', teamId)) as CareTeam | undefined) : undefined;
  if (!team) return [issue('business-rule', `CarePlan.careTeam: ${teamRef} is not a CareTeam on this server`, 'CarePlan.careTeam[0]')];
  if (team.subject?.reference !== plan.subject?.reference) {
    return [issue('business-rule', `CarePlan.careTeam: ${teamRef} is the team of ${team.subject?.reference ?? 'nobody'}, not of ${plan.subject?.reference}`, 'CarePlan.careTeam[0]')];
  }
  const author = plan.author?.reference;
  if (!author) return [];
  const coordinators = (team.participant ?? []).filter(isCurrentCoordinator).map((p) => p.member?.reference);
  if (coordinators.includes(author)) return [];
  return [issue('business-rule', `CarePlan.author: ${author} is not the current care coordinator of ${teamRef} (${coordinators.join(', ') || 'it has none'}); the shared care plan is authored by the named care coordinator`, 'CarePlan.author')];
}

/** A participant in the care-coordinator role (SNOMED 768820003) whose period includes now. */
export function isCurrentCoordinator(p: CareTeamParticipant): boolean {
  const now = Date.now();
  const current = (!p.period?.start || Date.parse(p.period.start) <= now) && (!p.period?.end || Date.parse(p.period.end) >= now);
  return current && !!p.role?.some((r) => r.coding?.some((c) => c.system === SNOMED && c.code === CARE_COORDINATOR));
}

/** A CommunityPharmacistPrescription's requester PractitionerRole carries the pharmacist-prescriber role (SNOMED 734294007). */
async function requesterIsPharmacistPrescriber(request: MedicationRequest, read: ReadResource): Promise<OperationOutcomeIssue[]> {
  const at = 'MedicationRequest.requester';
  const reference = request.requester?.reference;
  if (!reference) return []; // the profile reports a missing requester
  const role = await resolveRole(request, reference, read);
  if (role === undefined) {
    return [issue('business-rule', `${at}: ${reference} is not a PractitionerRole on this server; a pharmacist's prescription needs the prescriber's PractitionerRole to check it carries the pharmacist prescriber role (SNOMED ${PHARMACIST_PRESCRIBER})`, at)];
  }
  const codings = (role.code ?? []).flatMap((c) => c.coding ?? []);
  if (codings.some((c) => c.system === SNOMED && c.code === PHARMACIST_PRESCRIBER)) return [];
  const has = codings.map((c) => `${c.code}${c.display ? ` ${c.display}` : ''}`).join(', ') || 'no role codes';
  return [issue('business-rule', `${at}: ${reference} does not carry the pharmacist prescriber role (SNOMED ${PHARMACIST_PRESCRIBER}), so it cannot issue a CommunityPharmacistPrescription; it has ${has}`, at)];
}

/** The requester's PractitionerRole: contained (`#id`) or stored (`PractitionerRole/id`, relative or absolute). */
async function resolveRole(request: MedicationRequest, reference: string, read: ReadResource): Promise<PractitionerRole | undefined> {
  const local = containedId(reference);
  if (local !== undefined) {
    const contained = request.contained?.find((r) => r.id === local);
    return contained?.resourceType === 'PractitionerRole' ? contained : undefined;
  }
  const id = idOf(reference, 'PractitionerRole');
  if (!id) return undefined;
  const found = await read('PractitionerRole', id);
  return found as PractitionerRole | undefined;
}
