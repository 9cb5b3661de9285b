import { formatHumanName } from '@medplum/core';
import type { DetectedIssue, Patient, Reference, Resource } from '@medplum/fhirtypes';
import { SNOMED } from './medicine-identity.js';
import { POLYPHARMACY_THRESHOLD, type Medicine, type Prescriber } from './medicines.js';

/** Duplicate therapy, as the v3 ActCode system names it (https://terminology.hl7.org/CodeSystem-v3-ActCode.html#v3-ActCode-DUPTHPY). */
export const DUPLICATE_THERAPY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'DUPTHPY', display: 'Duplicate Therapy Alert' };
/** No standard code names polypharmacy as a detected issue: the hub's own code system says it. */
export const MEDICINES_ISSUE_SYSTEM = 'https://fhir.neighbourhood-hub.example/CodeSystem/medicines-issue';
export const POLYPHARMACY = { system: MEDICINES_ISSUE_SYSTEM, code: 'polypharmacy', display: `Polypharmacy: ${POLYPHARMACY_THRESHOLD} or more medicines in use` };
/** The organisations a duplicate concerns (prescribers and the registered GP), for the medication-issue topic's filter. */
export const ISSUE_ORGANISATION_EXTENSION = 'https://fhir.neighbourhood-hub.example/StructureDefinition/detected-issue-organisation';

/** Prescriber roles to name first when a role carries several codes. */
const PRESCRIBING_ROLES = new Set(['734294007', '62247001', '80584001', '106289002', '158965000']);

/** "Dr Amara Okafor (General practitioner, Riverside Surgery), authorised 2025-03-01" */
export function describePrescriber(p: Prescriber): string {
  const person = p.practitioner?.name?.[0] ? formatHumanName(p.practitioner.name[0], { prefix: true }) : undefined;
  const who = [roleName(p), p.organization?.name ?? (p.organizationReference ? undefined : p.request.requester?.display)].filter(Boolean).join(', ');
  const name = person ?? p.request.requester?.display ?? p.request.requester?.reference ?? 'an unknown prescriber';
  return `${name}${who && who !== name ? ` (${who})` : ''}${p.authoredOn ? `, authorised ${p.authoredOn.slice(0, 10)}` : ''}`;
}

export function roleName(p: Prescriber): string | undefined {
  const codings = (p.role?.code ?? []).flatMap((c) => c.coding ?? []);
  const prescribing = codings.find((c) => c.system === SNOMED && PRESCRIBING_ROLES.has(c.code ?? ''));
  return (prescribing ?? codings[0])?.display ?? p.role?.code?.[0]?.text;
}

const reference = <T extends Resource = Resource>(type: T['resourceType'], id: string | undefined): Reference<T> => ({ reference: `${type}/${id}` });

/** Duplicate therapy within a patient's own list: one medicine prescribed more than once, or medicines sharing an active ingredient. */
export function duplicateTherapyIssues(patientId: string, medicines: Medicine[], now: string): DetectedIssue[] {
  const issues: DetectedIssue[] = [];
  for (const m of medicines) {
    if (m.requests.length < 2) continue;
    const organisations = new Set(m.prescribers.map((p) => p.organisationKey));
    const detail = `${m.identity.display} is prescribed ${m.requests.length} times${organisations.size > 1 ? ` by ${organisations.size} organisations` : ' by one organisation'}: ${m.prescribers.map(describePrescriber).join('; ')}.`;
    issues.push(duplicateTherapy(patientId, m.prescribers, organisations.size > 1 ? 'high' : 'moderate', detail, now));
  }
  for (let i = 0; i < medicines.length; i++) {
    for (let j = i + 1; j < medicines.length; j++) {
      const [a, b] = [medicines[i], medicines[j]];
      const shared = [...a.identity.ingredients.keys()].filter((k) => b.identity.ingredients.has(k));
      if (!shared.length || !a.requests.length || !b.requests.length) continue;
      const names = shared.map((k) => a.identity.ingredients.get(k)).join(', ');
      const prescribers = [...a.prescribers, ...b.prescribers];
      const organisations = new Set(prescribers.map((p) => p.organisationKey));
      const detail = `${a.identity.display} and ${b.identity.display} both contain ${names}: ${a.identity.display} by ${a.prescribers.map(describePrescriber).join('; ')}; ${b.identity.display} by ${b.prescribers.map(describePrescriber).join('; ')}.`;
      issues.push(duplicateTherapy(patientId, prescribers, organisations.size > 1 ? 'high' : 'moderate', detail, now));
    }
  }
  return issues;
}

export function duplicateTherapy(patientId: string, prescribers: Prescriber[], severity: DetectedIssue['severity'], detail: string, now: string): DetectedIssue {
  const organisations = [...new Map(prescribers.filter((p) => p.organizationReference).map((p) => [p.organizationReference, p])).values()];
  return {
    resourceType: 'DetectedIssue',
    status: 'final',
    code: { coding: [DUPLICATE_THERAPY], text: 'Duplicate therapy' },
    severity,
    patient: reference<Patient>('Patient', patientId),
    identifiedDateTime: now,
    implicated: prescribers.map((p) => reference('MedicationRequest', p.request.id)),
    detail,
    ...(organisations.length
      ? { extension: organisations.map((p) => ({ url: ISSUE_ORGANISATION_EXTENSION, valueReference: organisationReference(p) })) }
      : {}),
  };
}

function organisationReference(p: Prescriber): Reference {
  const ods = p.organization?.identifier?.find((i) => i.system === 'https://fhir.nhs.uk/Id/ods-organization-code');
  return { reference: p.organizationReference, ...(ods ? { identifier: { system: ods.system, value: ods.value } } : {}), ...(p.organization?.name ? { display: p.organization.name } : {}) };
}

/** 10 or more medicines in use: a structured medication review is due. */
export function polypharmacyIssue(patientId: string, medicines: Medicine[], now: string): DetectedIssue | undefined {
  if (medicines.length < POLYPHARMACY_THRESHOLD) return undefined;
  const prescribers = new Set(medicines.flatMap((m) => m.prescribers.map((p) => p.organisationKey)));
  return {
    resourceType: 'DetectedIssue',
    status: 'final',
    code: { coding: [POLYPHARMACY], text: 'Polypharmacy' },
    severity: 'moderate',
    patient: reference<Patient>('Patient', patientId),
    identifiedDateTime: now,
    implicated: medicines.flatMap((m) => [...m.requests.map((r) => reference('MedicationRequest', r.id)), ...m.statements.map((s) => reference('MedicationStatement', s.id))]),
    detail: `${medicines.length} medicines in use from ${prescribers.size} prescribing organisation(s): offer a structured medication review.`,
    mitigation: [{ action: { text: 'Structured medication review' } }],
  };
}
