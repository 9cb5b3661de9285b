import type { ClientKind } from '../../server/auth/principal.js';
import { seedNeighbourhood } from '../../server/seed.js';
import type { Store } from '../../server/store/store.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The id of a prescription for Derek addressed to another pharmacy: High Street must never see it. */
export const OTHER_PHARMACY_RX = 'rx-derek-other-pharmacy';

/** The neighbourhood fixtures plus a prescription addressed to a pharmacy outside them (FA999). */
export async function seedAccessFixtures(store: Store): Promise<void> {
  await seedNeighbourhood(store);
  await store.update({
    resourceType: 'MedicationRequest',
    id: OTHER_PHARMACY_RX,
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { text: 'Sertraline 50mg tablets' },
    subject: { reference: 'Patient/pat-derek-brown' },
    requester: { reference: 'PractitionerRole/role-hughes-gp' },
    dispenseRequest: { performer: { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'FA999' } } },
  });
}

/** A server on PostgreSQL with the access fixtures, and a token (`system/*.cruds`) for each named member client. */
export async function startSeededServer(clients: Record<string, { kind: ClientKind; org: string }>): Promise<{ server: TestServer; tokens: Record<string, string> }> {
  const server = await startTestServer('postgres');
  await seedAccessFixtures(server.running.services.store);
  const tokens: Record<string, string> = {};
  for (const [name, client] of Object.entries(clients)) tokens[name] = await server.clientToken({ ...client, scopes: ['system/*.cruds'] });
  return { server, tokens };
}

/** How many resources a search finds (`_summary=count`). */
export async function countOf(server: TestServer, query: string): Promise<number> {
  return (await server.fhir('GET', `${query}${query.includes('?') ? '&' : '?'}_summary=count`)).body.total;
}
