import type { Bundle, Medication, MedicationDispense, MedicationRequest, MedicationStatement, Resource } from '@medplum/fhirtypes';
import type { SearchContext, SearchEngine } from '../search/search.js';
import type { Queryable } from '../store/db.js';

/** Largest page asked for; a patient with more current medication records than this is reported as incomplete. */
export const MAX_RECORDS = 1000;

/** A patient's current medication records and what they point at, as one client may see them. */
export interface MedicationRecords {
  patientId: string;
  requests: MedicationRequest[];
  statements: MedicationStatement[];
  dispenses: MedicationDispense[];
  /** Included resources (Medication, PractitionerRole, Organization, Practitioner) by `Type/id`. */
  referenced: Map<string, Resource>;
  /** A search returned more than MAX_RECORDS: the list may be missing medicines. */
  truncated: boolean;
}

// The searches run through the client's access-checked search engine, so the answer admits exactly
// what a search by the same client would.
const REQUESTS = (patientId: string): URLSearchParams =>
  new URLSearchParams([
    ['subject', `Patient/${patientId}`],
    ['status', 'active,on-hold'],
    ['_include', 'MedicationRequest:medication'],
    ['_include', 'MedicationRequest:requester'],
    ['_include:iterate', 'PractitionerRole:organization'],
    ['_include:iterate', 'PractitionerRole:practitioner'],
    ['_count', String(MAX_RECORDS)],
  ]);
const STATEMENTS = (patientId: string): URLSearchParams =>
  new URLSearchParams([
    ['subject', `Patient/${patientId}`],
    ['status', 'active,on-hold'],
    ['_include', 'MedicationStatement:medication'],
    ['_count', String(MAX_RECORDS)],
  ]);
const DISPENSES = (patientId: string): URLSearchParams =>
  new URLSearchParams([
    ['subject', `Patient/${patientId}`],
    ['status', 'completed'],
    ['_include', 'MedicationDispense:medication'],
    ['_count', String(MAX_RECORDS)],
  ]);

/** `prescriptionsOnly`: just the active and on-hold MedicationRequests and what they point at (the write-time check needs no more). */
export async function gatherMedicationRecords(search: SearchEngine, ctx: SearchContext, patientId: string, prescriptionsOnly = false): Promise<MedicationRecords> {
  const run = (type: string, params: URLSearchParams) => () => search.search(ctx, type, params);
  const none = async (): Promise<Bundle> => ({ resourceType: 'Bundle', type: 'searchset' });
  const [requests, statements, dispenses] = await allOn(ctx.sql, [
    run('MedicationRequest', REQUESTS(patientId)),
    prescriptionsOnly ? none : run('MedicationStatement', STATEMENTS(patientId)),
    prescriptionsOnly ? none : run('MedicationDispense', DISPENSES(patientId)),
  ]);
  const referenced = new Map<string, Resource>();
  for (const bundle of [requests, statements, dispenses]) {
    for (const e of bundle.entry ?? []) if (e.search?.mode === 'include' && e.resource) referenced.set(`${e.resource.resourceType}/${e.resource.id}`, e.resource);
  }
  return {
    patientId,
    requests: matches<MedicationRequest>(requests),
    statements: matches<MedicationStatement>(statements),
    dispenses: matches<MedicationDispense>(dispenses),
    referenced,
    truncated: [requests, statements, dispenses].some((b) => b.link?.some((l) => l.relation === 'next')),
  };
}

/**
 * Runs queries at once on a pool (a Db), one after another on an open transaction: its one
 * connection answers one query at a time.
 */
export async function allOn<T>(sql: Queryable, tasks: Array<() => Promise<T>>): Promise<T[]> {
  if ('transaction' in sql) return Promise.all(tasks.map((t) => t()));
  const results: T[] = [];
  for (const task of tasks) results.push(await task());
  return results;
}

function matches<T extends Resource>(bundle: Bundle): T[] {
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match' && e.resource).map((e) => e.resource as T);
}

/** Looks up Medications among resources already at hand, by `Type/id` relative or absolute on this server. */
export function medicationLookup(resources: Map<string, Resource>, baseUrl: string): (reference: string) => Medication | undefined {
  return (reference) => {
    const local = reference.startsWith(baseUrl + '/') ? reference.slice(baseUrl.length + 1) : reference;
    const found = resources.get(local);
    return found?.resourceType === 'Medication' ? found : undefined;
  };
}
