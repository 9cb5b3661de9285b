import type { Bundle, Composition, MessageHeader, Organization, Patient, PractitionerRole, Reference, Resource } from '@medplum/fhirtypes';
import { ODS_SYSTEM } from '../auth/principal.js';
import { badRequest } from '../errors.js';
import type { SearchEngine } from '../search/search.js';
import { idOf, parseRelative } from '../fhir/reference.js';
import type { Queryable } from '../store/db.js';

// A community pharmacy's consultation summary (the hub's own event, published as
// MessageDefinition/consultation-summary) goes to the patient's registered GP practice: the hub
// finds its patient, and addresses the message (MessageHeader.destination.receiver) to the practice
// Patient.generalPractitioner names, by ODS code, as EPS routes prescriptions to pharmacies.

export const HUB_EVENT = 'https://fhir.neighbourhood-hub.example/CodeSystem/message-event';
const NHS_NUMBER = 'https://fhir.nhs.uk/Id/nhs-number';

export interface Addressed {
  /** The hub's patient the summary is about (`Patient/id`), if it holds one. */
  patient?: string;
  /** ODS code of the registered practice addressed, if the patient has one in the hub. */
  practice?: string;
}

/**
 * Points the message at the hub's patient (a Patient entry matched by NHS number is replaced by a
 * reference to the one held, so the pharmacy does not write a second record) and addresses its
 * header to the registered practice. Changes the message in place.
 */
export async function addressConsultationSummary(message: Bundle, header: MessageHeader, lookup: SearchEngine, sql: Queryable, baseUrl: string): Promise<Addressed> {
  const entries = message.entry ?? [];
  const at = entries.findIndex((e) => e.resource?.resourceType === 'Composition');
  if (at < 0) throw badRequest('A consultation summary carries its Composition (MessageDefinition/consultation-summary)', 'Bundle.entry');
  const subject = (entries[at].resource as Composition).subject?.reference;
  if (!subject) throw badRequest('The consultation summary names no patient', `Bundle.entry[${at}].resource.subject`);
  const sent = entries.find((e) => e.fullUrl === subject && e.resource?.resourceType === 'Patient');
  const nhsNumber = (sent?.resource as Patient | undefined)?.identifier?.find((i) => i.system === NHS_NUMBER)?.value;
  const relative = parseRelative(subject);
  const literal = relative?.resourceType === 'Patient' ? relative.id : undefined;
  // Encoded: the values are the sender's, and must not add parameters of their own.
  const criteria = nhsNumber ? `identifier=${encodeURIComponent(`${NHS_NUMBER}|${nhsNumber}`)}` : literal ? `_id=${encodeURIComponent(literal)}` : undefined;
  const patient = criteria ? (await find<Patient>(lookup, sql, baseUrl, 'Patient', criteria))[0] : undefined;
  if (!patient) return {};
  const practice = await registeredPractice(lookup, sql, baseUrl, patient);
  if (practice) header.destination = [{ endpoint: `${baseUrl}/$process-message`, receiver: practice as NonNullable<MessageHeader['destination']>[number]['receiver'] }];
  // Last: it copies the entries, header included.
  if (sent) pointAt(message, sent.fullUrl as string, `Patient/${patient.id}`);
  return { patient: `Patient/${patient.id}`, practice: practice?.identifier?.value };
}

/** The practice Patient.generalPractitioner names (directly, or as the organisation of a role), with its ODS code. */
async function registeredPractice(lookup: SearchEngine, sql: Queryable, baseUrl: string, patient: Patient): Promise<Reference | undefined> {
  for (const gp of patient.generalPractitioner ?? []) {
    if (gp.identifier?.system === ODS_SYSTEM) return { identifier: gp.identifier, display: gp.display };
    let id = idOf(gp.reference, 'Organization');
    const role = idOf(gp.reference, 'PractitionerRole');
    if (role) id = idOf((await find<PractitionerRole>(lookup, sql, baseUrl, 'PractitionerRole', `_id=${role}`))[0]?.organization?.reference, 'Organization');
    const org = id ? (await find<Organization>(lookup, sql, baseUrl, 'Organization', `_id=${id}`))[0] : undefined;
    const ods = org?.identifier?.find((i) => i.system === ODS_SYSTEM);
    if (org && ods) return { reference: `Organization/${org.id}`, identifier: { system: ODS_SYSTEM, value: ods.value }, display: org.name };
  }
  return undefined;
}

async function find<T extends Resource>(lookup: SearchEngine, sql: Queryable, baseUrl: string, type: string, criteria: string): Promise<T[]> {
  const bundle = await lookup.search({ sql, baseUrl, strict: false }, type, new URLSearchParams(`${criteria}&_count=1`));
  return (bundle.entry ?? []).filter((e) => e.search?.mode !== 'outcome').map((e) => e.resource as T);
}

/** Drops the sent Patient entry and points every reference to it at the hub's patient. */
function pointAt(message: Bundle, fullUrl: string, reference: string): void {
  const kept = (message.entry ?? []).filter((e) => e.fullUrl !== fullUrl);
  message.entry = JSON.parse(JSON.stringify(kept).replaceAll(JSON.stringify(fullUrl), JSON.stringify(reference)));
}
