import { seedNeighbourhood } from '../../server/seed.js';
import type { Store } from '../../server/store/store.js';

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
