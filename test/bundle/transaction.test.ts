import { expect } from 'chai';
import type { Bundle } from '@medplum/fhirtypes';
import { describeEachDatabase } from '../support/server.js';
import { bundleFixture, count, NHS, post, refOf, transaction } from './support.js';

describeEachDatabase('transaction (http.html#transaction)', (server) => {
  it('a transaction returns a transaction-response with one entry per request entry, in request order, with status, location, etag and lastModified', async () => {
    const res = await post(server(), bundleFixture('transaction-careteam-with-urn-links.json'));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.resourceType).to.equal('Bundle');
    expect(res.body.type).to.equal('transaction-response');
    const types = res.body.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType);
    expect(types).to.deep.equal(['Patient', 'Practitioner', 'Organization', 'CareTeam', 'RelatedPerson']);
    for (const e of res.body.entry) {
      expect(e.response.status).to.equal('201 Created');
      expect(e.response.location).to.match(new RegExp(`^${server().base}/${e.resource.resourceType}/${e.resource.id}/_history/1$`));
      expect(e.response.etag).to.equal('W/"1"');
      expect(e.response.lastModified).to.equal(e.resource.meta.lastUpdated);
    }
  });

  it('urn:uuid fullUrls are replaced by the assigned ids in every reference: extensions, nested elements, contained resources, circular links; narrative is left alone', async () => {
    const sent = bundleFixture('transaction-careteam-with-urn-links.json');
    const res = await post(server(), sent);
    expect(res.status, res.text).to.equal(200);
    const [patient, practitioner, organization, careTeam, relatedPerson] = res.body.entry.map((e: { response: { location: string } }) => refOf(e.response.location));
    const storedPatient = (await server().fhir('GET', patient)).body;
    expect(storedPatient.extension[0].valueReference.reference).to.equal(practitioner);
    expect(storedPatient.generalPractitioner[0].reference).to.equal(organization);
    expect(storedPatient.link[0].other.reference).to.equal(relatedPerson);
    expect(storedPatient.text.div).to.equal((sent.entry![0].resource as { text: { div: string } }).text.div);
    const team = (await server().fhir('GET', careTeam)).body;
    expect(team.subject.reference).to.equal(patient);
    expect(team.participant[0].member.reference).to.equal(practitioner);
    expect(team.participant[0].onBehalfOf.reference).to.equal(organization);
    expect(team.participant[1].member.reference).to.equal('#neighbour');
    expect(team.managingOrganization[0].reference).to.equal(organization);
    expect(team.contained[0].patient.reference).to.equal(patient);
    expect((await server().fhir('GET', relatedPerson)).body.patient.reference).to.equal(patient);
  });

  it('urn:oid fullUrls are replaced like urn:uuid ones', async () => {
    const res = await post(server(), transaction([
      { fullUrl: 'urn:oid:2.16.840.1.113883.2.1.4.1.77', resource: { resourceType: 'Organization', name: 'OID organisation' }, request: { method: 'POST', url: 'Organization' } },
      { resource: { resourceType: 'Location', name: 'Clinic', managingOrganization: { reference: 'urn:oid:2.16.840.1.113883.2.1.4.1.77' } }, request: { method: 'POST', url: 'Location' } },
    ]));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.entry[1].resource.managingOrganization.reference).to.equal(`Organization/${res.body.entry[0].resource.id}`);
  });

  it('entries are processed DELETE, POST, PUT/PATCH, GET: a GET listed first sees the PUT listed after it, and the response keeps request order', async () => {
    await server().fhir('PUT', 'Patient/order-deleted', { body: { resourceType: 'Patient', id: 'order-deleted' } });
    const res = await post(server(), transaction([
      { request: { method: 'GET', url: 'Patient/order-put' } },
      { resource: { resourceType: 'Patient', id: 'order-put', name: [{ family: 'Put' }] }, request: { method: 'PUT', url: 'Patient/order-put' } },
      { request: { method: 'GET', url: 'Patient/order-deleted' } },
      { request: { method: 'DELETE', url: 'Patient/order-deleted' } },
      { resource: { resourceType: 'Patient', name: [{ family: 'Posted' }] }, request: { method: 'POST', url: 'Patient' } },
    ]));
    // The GET of the deleted patient runs after the DELETE: 410 fails the whole transaction.
    expect(res.status).to.equal(410);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[2]']);
    expect((await server().fhir('GET', 'Patient/order-put')).status).to.equal(404);
    expect((await server().fhir('GET', 'Patient/order-deleted')).status).to.equal(200);

    const ok = await post(server(), transaction([
      { request: { method: 'GET', url: 'Patient/order-put' } },
      { resource: { resourceType: 'Patient', id: 'order-put', name: [{ family: 'Put' }] }, request: { method: 'PUT', url: 'Patient/order-put' } },
      { request: { method: 'DELETE', url: 'Patient/order-deleted' } },
      { request: { method: 'GET', url: `Patient?family=Put` } },
    ]));
    expect(ok.status, ok.text).to.equal(200);
    expect(ok.body.entry.map((e: { response: { status: string } }) => e.response.status)).to.deep.equal(['200 OK', '201 Created', '200 OK', '200 OK']);
    expect(ok.body.entry[0].resource.name[0].family).to.equal('Put');
    expect(ok.body.entry[2].response.outcome.resourceType).to.equal('OperationOutcome');
    expect(ok.body.entry[3].resource.resourceType).to.equal('Bundle');
    expect(ok.body.entry[3].resource.entry.map((e: { resource: { id: string } }) => e.resource.id)).to.include('order-put');
  });

  it('every resource a transaction writes gets its history row and its change-log row in the same commit', async () => {
    const before = [await count(server(), 'resource_history'), await count(server(), 'change_log')];
    const res = await post(server(), bundleFixture('transaction-careteam-with-urn-links.json'));
    expect(res.status, res.text).to.equal(200);
    expect([await count(server(), 'resource_history'), await count(server(), 'change_log')]).to.deep.equal([before[0] + 5, before[1] + 5]);
    const history = await server().fhir('GET', `${refOf(res.body.entry[3].response.location)}/_history`);
    expect(history.body.entry).to.have.length(1);
  });

  it('Prefer: return=minimal leaves the resources out of each entry; return=OperationOutcome gives each an outcome', async () => {
    const minimal = await post(server(), bundleFixture('transaction-careteam-with-urn-links.json'), { prefer: 'return=minimal' });
    expect(minimal.status, minimal.text).to.equal(200);
    for (const e of minimal.body.entry) {
      expect(e.resource).to.equal(undefined);
      expect(e.response.status).to.equal('201 Created');
      expect(e.response.location).to.be.a('string');
    }
    const oo = await post(server(), bundleFixture('transaction-careteam-with-urn-links.json'), { prefer: 'return=OperationOutcome' });
    for (const e of oo.body.entry) {
      expect(e.resource).to.equal(undefined);
      expect(e.response.outcome.resourceType).to.equal('OperationOutcome');
    }
  });

  it('a HEAD entry answers like GET, with status and etag but no resource', async () => {
    await server().fhir('PUT', 'Patient/head-entry', { body: { resourceType: 'Patient', id: 'head-entry' } });
    const res = await post(server(), transaction([{ request: { method: 'HEAD', url: 'Patient/head-entry' } }]));
    expect(res.body.entry[0].response).to.include({ status: '200 OK', etag: 'W/"1"' });
    expect(res.body.entry[0].resource).to.equal(undefined);
  });

  it('an empty transaction succeeds with an empty transaction-response', async () => {
    const res = await post(server(), { resourceType: 'Bundle', type: 'transaction' } as Bundle);
    expect(res.status).to.equal(200);
    expect(res.body.type).to.equal('transaction-response');
  });

  it('the CapabilityStatement declares transaction and batch, and says what concurrent transactions do', async () => {
    const cs = (await server().fhir('GET', 'metadata')).body;
    const codes = cs.rest[0].interaction.map((i: { code: string }) => i.code);
    expect(codes).to.include.members(['transaction', 'batch']);
    const doc = cs.rest[0].interaction.find((i: { code: string }) => i.code === 'transaction').documentation;
    expect(doc).to.match(/waits/).and.match(/409/);
  });

  it('a conditional create (ifNoneExist) matching the resource another entry creates is a 400 naming it', async () => {
    const res = await post(server(), transaction([
      { fullUrl: 'urn:uuid:11111111-2222-4333-8444-555555555555', resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: '9000000009' }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: '9000000009' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS}|9000000009` } },
    ]));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression[0]).to.match(/^Bundle\.entry\[1\]/);
  });
});
