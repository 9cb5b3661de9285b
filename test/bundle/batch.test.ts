import { expect } from 'chai';
import { describeEachDatabase } from '../support/server.js';
import { batch, bundleFixture, post } from './support.js';

describeEachDatabase('batch (http.html#transaction: "each entry is treated as if it were an individual interaction")', (server) => {
  it('a failing entry gets its own status and OperationOutcome; the others go through, and the response keeps request order', async () => {
    const res = await post(server(), bundleFixture('batch-one-invalid-entry-among-valid.json'));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.type).to.equal('batch-response');
    const statuses = res.body.entry.map((e: { response: { status: string } }) => e.response.status);
    expect(statuses).to.deep.equal(['201 Created', '400 Bad Request', '404 Not Found', '201 Created']);
    expect(res.body.entry[1].response.outcome.issue[0].expression).to.deep.equal(['Bundle.entry[1].resource.gender']);
    expect(res.body.entry[2].response.outcome.resourceType).to.equal('OperationOutcome');
    expect((await server().fhir('GET', `Organization/${res.body.entry[0].resource.id}`)).status).to.equal(200);
    expect((await server().fhir('GET', 'Patient/batch-put')).status).to.equal(200);
  });

  it('batch entries run in request order, each seeing the ones before it', async () => {
    const res = await post(server(), batch([
      { resource: { resourceType: 'Patient', id: 'batch-seq', active: true }, request: { method: 'PUT', url: 'Patient/batch-seq' } },
      { request: { method: 'GET', url: 'Patient/batch-seq' } },
      { request: { method: 'DELETE', url: 'Patient/batch-seq' } },
      { request: { method: 'GET', url: 'Patient/batch-seq' } },
    ]));
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).to.deep.equal(['201 Created', '200 OK', '200 OK', '410 Gone']);
    expect(res.body.entry[1].resource.active).to.equal(true);
  });

  it('Prefer: return=minimal applies to each entry', async () => {
    const res = await post(server(), batch([{ resource: { resourceType: 'Organization', name: 'Minimal' }, request: { method: 'POST', url: 'Organization' } }]), { prefer: 'return=minimal' });
    expect(res.body.entry[0].resource).to.equal(undefined);
    expect(res.body.entry[0].response.location).to.match(/Organization\/[^/]+\/_history\/1$/);
  });

  it('a batch entry may not itself be a batch or transaction (url of the base)', async () => {
    const res = await post(server(), batch([{ resource: { resourceType: 'Bundle', type: 'transaction' }, request: { method: 'POST', url: '/' } }]));
    expect(res.body.entry[0].response.status).to.equal('400 Bad Request');
  });
});
