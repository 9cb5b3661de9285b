import { expect } from 'chai';
import { eventually, useSubscriptionServer } from '../subscriptions/support.js';

const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

const prescription = (id: string, pharmacy: string) => ({
  resourceType: 'MedicationRequest',
  id,
  status: 'active',
  intent: 'order',
  medicationCodeableConcept: { text: 'Amoxicillin 500mg capsules' },
  subject: { reference: 'Patient/pat-x' },
  dispenseRequest: { performer: { identifier: { system: ODS, value: pharmacy } } },
});

describe('access: a subscription delivers only what its owner may read', function () {
  this.timeout(60_000);
  const { server, receiver } = useSubscriptionServer('postgres', 'suite');

  it('a pharmacy subscribed to every prescription is notified of those addressed to it, never of another pharmacy’s', async () => {
    const pharmacy = await server().clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.cruds'] });
    const sub = await server().fhir('POST', 'Subscription', {
      as: pharmacy,
      body: {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'prescriptions',
        criteria: 'MedicationRequest?status=active',
        // Another client's owner tag is replaced by the writer's own.
        meta: { tag: [{ system: 'https://neighbourhood.example.org/fhir/CodeSystem/subscription-owner', code: 'someone-else' }] },
        channel: { type: 'rest-hook', endpoint: receiver().url, payload: 'application/fhir+json' },
      },
    });
    expect(sub.status).to.equal(201);
    expect(sub.body.meta.tag.filter((t: { code: string }) => t.code === 'someone-else')).to.deep.equal([]);
    await eventually(() => server().fhir('GET', `Subscription/${sub.body.id}`), (r) => r.body.status === 'active');

    await server().fhir('PUT', 'MedicationRequest/rx-elsewhere', { body: prescription('rx-elsewhere', 'FA999') });
    await server().fhir('PUT', 'MedicationRequest/rx-mine', { body: prescription('rx-mine', 'FA565') });
    await receiver().waitFor((r) => r.some((x) => x.path?.endsWith('/MedicationRequest/rx-mine')));
    // Both changes were matched in order; the one the pharmacy may not read was dropped at delivery.
    await new Promise((r) => setTimeout(r, 500));
    const paths = receiver().received.map((r) => r.path ?? '');
    expect(paths.some((p) => p.includes('rx-elsewhere'))).to.equal(false);
    expect(paths.filter((p) => p.endsWith('/MedicationRequest/rx-mine'))).to.have.length(1);

    // Each delivery is on the audit trail under the owner's client id.
    const owner = JSON.parse(Buffer.from(pharmacy.split('.')[1], 'base64url').toString('utf8')).sub as string;
    const delivered = await eventually(
      () => server().fhir('GET', `AuditEvent?client=${owner}&entity=Subscription/${sub.body.id}`),
      (r) => (r.body.entry ?? []).some((e: { resource: { entity?: { what?: { reference?: string } }[] } }) => e.resource.entity?.some((x) => x.what?.reference === 'MedicationRequest/rx-mine')),
    );
    expect(delivered.status).to.equal(200);
  });

  it('a deleted prescription is notified to the pharmacy it was addressed to, and not to another', async () => {
    // The subscription of the test above; events arrive in order, so rx-elsewhere's would come first.
    expect((await server().fhir('DELETE', 'MedicationRequest/rx-elsewhere')).status).to.equal(200);
    expect((await server().fhir('DELETE', 'MedicationRequest/rx-mine')).status).to.equal(200);
    await receiver().waitFor((r) => r.some((x) => x.method === 'DELETE' && x.path?.endsWith('/MedicationRequest/rx-mine')));
    expect(receiver().received.filter((r) => r.method === 'DELETE').map((r) => r.path?.split('/').pop())).to.deep.equal(['rx-mine']);
  });

  it('another client cannot read or change the pharmacy’s subscription', async () => {
    const gp = await server().clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
    const subs = await server().fhir('GET', 'Subscription', { as: gp });
    expect(subs.body.entry ?? []).to.deep.equal([]);
  });
});
