import { expect } from 'chai';
import type { TestServer } from '../support/server.js';
import { eventually, startSubscriptionServer } from '../subscriptions/support.js';

const OWNER = 'https://neighbourhood.example.org/fhir/CodeSystem/subscription-owner';

describe('access: an administrator setting a failing subscription back to active', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startSubscriptionServer('pglite', { maxAttempts: 2 });
  });
  after(() => server.stop());

  it('leaves it with the client that wrote it (its notifications stay limited to what that client may read)', async () => {
    const pharmacy = await server.clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.cruds'] });
    const owner = JSON.parse(Buffer.from(pharmacy.split('.')[1], 'base64url').toString('utf8')).sub as string;
    const created = await server.fhir('POST', 'Subscription', {
      as: pharmacy,
      body: { resourceType: 'Subscription', status: 'requested', reason: 'prescriptions', criteria: 'MedicationRequest?status=active', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook', payload: 'application/fhir+json' } },
    });
    expect(created.status).to.equal(201);
    await eventually(() => server.fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active');
    await server.fhir('POST', 'MedicationRequest', { body: { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'Amoxicillin 500mg capsules' }, subject: { reference: 'Patient/p' }, dispenseRequest: { performer: { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'FA565' } } } } });
    const errored = await eventually(() => server.fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'error');

    const { error: _error, ...rest } = errored.body;
    const put = await server.fhir('PUT', `Subscription/${created.body.id}`, { body: { ...rest, status: 'active' } });
    expect(put.status).to.equal(200);
    expect(put.body.status).to.equal('active');
    expect(put.body.meta.tag.filter((t: { system: string }) => t.system === OWNER).map((t: { code: string }) => t.code)).to.deep.equal([owner]);
    // Still the pharmacy's: it reads it, a GP does not.
    expect((await server.fhir('GET', `Subscription/${created.body.id}`, { as: pharmacy })).status).to.equal(200);
  });

  it('an administrator\'s own new subscription is its own', async () => {
    const created = await server.fhir('POST', 'Subscription', {
      body: { resourceType: 'Subscription', status: 'requested', reason: 'all', criteria: 'Patient?', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook', payload: 'application/fhir+json' } },
    });
    expect(created.status).to.equal(201);
    expect(created.body.meta.tag.filter((t: { system: string }) => t.system === OWNER)).to.have.length(1);
  });
});
