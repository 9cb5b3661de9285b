import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { fixture } from '../support/examples.js';
import type { FhirReply, TestServer } from '../support/server.js';

/** A fixture Bundle from fixtures/bundle, fresh each time (tests mutate them). */
export const bundleFixture = (name: string): Bundle => fixture<Bundle>(`bundle/${name}`);

export const transaction = (entry: BundleEntry[]): Bundle => ({ resourceType: 'Bundle', type: 'transaction', entry });
export const batch = (entry: BundleEntry[]): Bundle => ({ resourceType: 'Bundle', type: 'batch', entry });

export function post(server: TestServer, bundle: Bundle, headers: Record<string, string> = {}): Promise<FhirReply> {
  return server.fhir('POST', '', { body: bundle, headers });
}

/**
 * Rows in a table: how tests prove "the database exactly as before". AuditEvents are left out: every
 * request, refused ones included, is on the audit trail.
 */
export async function count(server: TestServer, table: 'resources' | 'resource_history' | 'change_log'): Promise<number> {
  const rows = await server.running.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE resource_type <> 'AuditEvent'`);
  return rows[0].n;
}

export async function snapshot(server: TestServer): Promise<number[]> {
  return [await count(server, 'resources'), await count(server, 'resource_history'), await count(server, 'change_log')];
}

/** `Patient/abc` from a response entry's location `.../Patient/abc/_history/1`. */
export function refOf(location: string | undefined): string {
  const m = /([A-Za-z]+\/[A-Za-z0-9\-.]+)\/_history\/\d+$/.exec(location ?? '');
  if (!m) throw new Error(`not a version location: ${location}`);
  return m[1];
}

export const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
