import type { DetectedIssue, MedicationRequest, Organization, Patient, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { parseLocal } from '../fhir/reference.js';
import type { SearchEngine } from '../search/search.js';
import type { WriteRule } from '../../profiles/write-guard.js';
import type { Store } from '../store/store.js';
import { describePrescriber, duplicateTherapy, ISSUE_ORGANISATION_EXTENSION } from './detected-issues.js';
import { gatherMedicationRecords, medicationLookup } from './gather.js';
import { identify } from './medicine-identity.js';
import { duplicationsOf, groupMedicines, prescriberOf } from './medicines.js';

const IN_USE = new Set(['active', 'on-hold']);
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

/**
 * A MedicationRequest coming into use (created, or updated into active or on-hold) that duplicates
 * another organisation's medicine for the same patient is stored as sent (the hub does not
 * second-guess a prescriber) together with a DetectedIssue, in the same transaction. A write rule on
 * the store seam, so REST writes, transaction entries and EPS $process-message all pass it; the check
 * sees every prescriber, whatever the writing client may read, and records the issue as the hub.
 */
export function duplicateTherapyRule(search: SearchEngine, baseUrl: () => string): WriteRule {
  return {
    types: ['MedicationRequest'],
    async afterWrite({ previous, current }, hub) {
      const request = current as MedicationRequest;
      const wasInUse = !!previous && IN_USE.has((previous as MedicationRequest).status);
      if (wasInUse || !IN_USE.has(request.status)) return;
      const issue = await duplicateOfOtherOrganisation(hub, search, baseUrl(), request);
      if (issue) await hub.create(issue);
    },
  };
}

/** The DetectedIssue for a request duplicating (same medicine, or a shared active ingredient) another organisation's active prescription. */
export async function duplicateOfOtherOrganisation(tx: Store, search: SearchEngine, baseUrl: string, request: MedicationRequest): Promise<DetectedIssue | undefined> {
  const patient = parseLocal(request.subject?.reference ?? '', baseUrl);
  if (patient?.resourceType !== 'Patient') return undefined;
  if (noOtherPrescriptionHere(tx, search, patient.id, request)) return undefined;
  const records = await gatherMedicationRecords(search, { sql: tx.sql, baseUrl, strict: false }, patient.id, true);
  records.requests = records.requests.filter((r) => r.id !== request.id);
  const lookup = medicationLookup(records.referenced, baseUrl);
  const medicines = groupMedicines(records, baseUrl);
  const prescriber = prescriberOf(request, records.referenced, baseUrl);
  const identity = identify(request, lookup);
  const found = duplicationsOf(identity, medicines)
    .map((d) => ({ ...d, others: d.medicine.prescribers.filter((p) => p.organisationKey !== prescriber.organisationKey) }))
    .filter((d) => d.others.length > 0);
  if (!found.length) return undefined;
  const said = found.map((d) => `${d.medicine.identity.display}${d.ingredient ? ` (shares the active ingredient ${d.ingredient})` : ''}, prescribed by ${d.others.map(describePrescriber).join('; ')}`);
  const detail = `${identity.display}, prescribed by ${describePrescriber(prescriber)}, duplicates ${said.join(', and ')}.`;
  const issue = duplicateTherapy(patient.id, [prescriber, ...found.flatMap((d) => d.others)], 'high', detail, new Date().toISOString());
  const gp = await registeredPractice(tx, patient.id, baseUrl);
  if (gp && !issue.extension?.some((e) => e.valueReference?.reference === gp.reference)) issue.extension = [...(issue.extension ?? []), { url: ISSUE_ORGANISATION_EXTENSION, valueReference: gp }];
  return issue;
}

/**
 * A patient created in this transaction has only the prescriptions written in it: when none but this
 * one is in use, there is nothing to duplicate, and no statement is needed to know it.
 */
function noOtherPrescriptionHere(tx: Store, search: SearchEngine, patientId: string, request: MedicationRequest): boolean {
  const here = tx.writtenHere;
  if (!here?.isNew('Patient', patientId)) return false;
  const inUse = new URLSearchParams([
    ['subject', `Patient/${patientId}`],
    ['status', [...IN_USE].join(',')],
  ]);
  return !here.referringTo('MedicationRequest', `Patient/${patientId}`).some((r) => r.id !== request.id && search.matches(r, inUse));
}

/** The patient's registered GP practice (generalPractitioner: the Organization, or a PractitionerRole's), with its ODS code. */
async function registeredPractice(tx: Store, patientId: string, baseUrl: string): Promise<{ reference: string; identifier?: { system: string; value?: string }; display?: string } | undefined> {
  const read = async <T extends Resource>(type: string, id: string): Promise<T | undefined> => {
    const v = await tx.read(type, id);
    return v?.content && !v.deleted ? (JSON.parse(v.content) as T) : undefined;
  };
  const patient = await read<Patient>('Patient', patientId);
  for (const gp of patient?.generalPractitioner ?? []) {
    let ref = parseLocal(gp.reference ?? '', baseUrl);
    if (ref?.resourceType === 'PractitionerRole') ref = parseLocal((await read<PractitionerRole>('PractitionerRole', ref.id))?.organization?.reference ?? '', baseUrl);
    if (ref?.resourceType !== 'Organization') continue;
    const org = await read<Organization>('Organization', ref.id);
    const ods = org?.identifier?.find((i) => i.system === ODS);
    return { reference: `Organization/${ref.id}`, ...(ods ? { identifier: { system: ODS, value: ods.value } } : {}), ...(org?.name ? { display: org.name } : {}) };
  }
  return undefined;
}
