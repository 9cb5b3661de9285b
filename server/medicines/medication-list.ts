import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, DetectedIssue, Extension, List, ListEntry, Resource } from '@medplum/fhirtypes';
import { duplicateTherapyIssues, polypharmacyIssue } from './detected-issues.js';
import type { MedicationRecords } from './gather.js';
import { groupMedicines, type Medicine } from './medicines.js';

/** LOINC 10160-0: History of Medication use Narrative, the list code for "medicines in use". */
export const MEDICATION_LIST_CODE = { system: 'http://loinc.org', code: '10160-0', display: 'History of Medication use Narrative' };
const EXT = 'https://fhir.neighbourhood-hub.example/StructureDefinition';
/** On a List entry: one prescriber of the medicine (organization, practitionerRole, request, authoredOn). */
export const PRESCRIBER_EXTENSION = `${EXT}/medicine-prescriber`;
export const LAST_AUTHORISED_EXTENSION = `${EXT}/medicine-last-authorised`;
export const LAST_DISPENSED_EXTENSION = `${EXT}/medicine-last-dispensed`;

/** A patient's medicines and the problems found in them, as one client may see them. */
export interface MedicinesReview {
  medicines: Medicine[];
  issues: DetectedIssue[];
}

export function reviewMedicines(records: MedicationRecords, baseUrl: string, now = new Date().toISOString()): MedicinesReview {
  const medicines = groupMedicines(records, baseUrl);
  const polypharmacy = polypharmacyIssue(records.patientId, medicines, now);
  return { medicines, issues: [...duplicateTherapyIssues(records.patientId, medicines, now), ...(polypharmacy ? [polypharmacy] : [])] };
}

/**
 * The answer of Patient/{id}/$medications: a List (one entry per medicine, with its prescribers, when it
 * was last authorised and last dispensed), the resources it refers to, and the DetectedIssues found.
 */
export function medicationListBundle(records: MedicationRecords, review: MedicinesReview, baseUrl: string, now = new Date().toISOString()): Bundle {
  const list: List = {
    resourceType: 'List',
    status: 'current',
    mode: 'snapshot',
    title: 'Medicines in use',
    code: { coding: [MEDICATION_LIST_CODE] },
    subject: { reference: `Patient/${records.patientId}` },
    date: now,
    entry: review.medicines.map(listEntry),
    ...(records.truncated ? { note: [{ text: 'More medication records exist than one answer holds; the list is incomplete.' }] } : {}),
  };
  if (!list.entry?.length) {
    delete list.entry;
    list.emptyReason = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'nilknown', display: 'Nil Known' }] };
  }
  const entries: BundleEntry[] = [{ fullUrl: `urn:uuid:${randomUUID()}`, resource: list }];
  const seen = new Set<string>();
  const add = (r: Resource | undefined): void => {
    if (!r) return;
    const key = `${r.resourceType}/${r.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    entries.push({ fullUrl: `${baseUrl}/${key}`, resource: r });
  };
  for (const m of review.medicines) {
    [...m.requests, ...m.statements, m.lastDispense].forEach(add);
    for (const p of m.prescribers) [p.role, p.organization, p.practitioner].forEach(add);
  }
  for (const r of records.referenced.values()) if (r.resourceType === 'Medication') add(r);
  for (const issue of review.issues) entries.push({ fullUrl: `urn:uuid:${randomUUID()}`, resource: issue });
  return { resourceType: 'Bundle', type: 'collection', timestamp: now, entry: entries };
}

function listEntry(m: Medicine): ListEntry {
  const item = m.requests[0] ?? m.statements[0];
  const extension: Extension[] = m.prescribers.map((p) => ({
    url: PRESCRIBER_EXTENSION,
    extension: [
      { url: 'request', valueReference: { reference: `MedicationRequest/${p.request.id}` } },
      ...(p.organizationReference || p.organization ? [{ url: 'organization', valueReference: { reference: p.organizationReference, display: p.organization?.name } }] : []),
      ...(p.roleReference ? [{ url: 'practitionerRole', valueReference: { reference: p.roleReference, display: p.role?.code?.[0]?.coding?.[0]?.display } }] : []),
      ...(p.authoredOn ? [{ url: 'authoredOn', valueDateTime: p.authoredOn }] : []),
    ],
  }));
  if (m.lastAuthorised) extension.push({ url: LAST_AUTHORISED_EXTENSION, valueDateTime: m.lastAuthorised });
  if (m.lastDispense) {
    extension.push({
      url: LAST_DISPENSED_EXTENSION,
      extension: [{ url: 'dispense', valueReference: { reference: `MedicationDispense/${m.lastDispense.id}` } }, ...(m.lastDispensed ? [{ url: 'when', valueDateTime: m.lastDispensed }] : [])],
    });
  }
  return {
    item: { reference: `${item.resourceType}/${item.id}`, display: m.identity.display },
    ...(m.lastAuthorised ? { date: m.lastAuthorised } : {}),
    ...(extension.length ? { extension } : {}),
  };
}
