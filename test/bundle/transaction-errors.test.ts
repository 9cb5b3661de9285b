import { expect } from 'chai';
import { sharedExample } from '../support/examples.js';
import { describeEachDatabase, startTestServer, DB_KINDS, type TestServer } from '../support/server.js';
import { bundleFixture, post, snapshot, transaction } from './support.js';

describeEachDatabase('transaction failures leave the database exactly as before (http.html#transaction)', (server) => {
  it('an invalid third entry fails the whole transaction with 400 naming Bundle.entry[2].resource.gender; nothing is written', async () => {
    const before = await snapshot(server());
    const res = await post(server(), bundleFixture('transaction-third-entry-invalid-gender.json'));
    expect(res.status).to.equal(400);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[2].resource.gender']);
    expect(res.body.issue[0].diagnostics).to.contain('Bundle.entry[2] (POST Patient)');
    expect(await snapshot(server())).to.deep.equal(before);
    expect((await server().fhir('GET', 'Patient/never-stored-invalid-bundle')).status).to.equal(404);
  });

  it('two entries with the same fullUrl are a 400 naming the second', async () => {
    const res = await post(server(), bundleFixture('transaction-duplicate-fullurl.json'));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[1].fullUrl']);
    expect(res.body.issue[0].diagnostics).to.contain('Bundle.entry[0]');
  });

  it('a reference to a urn:uuid that no entry has as fullUrl is a 400 naming the reference', async () => {
    const before = await snapshot(server());
    const res = await post(server(), bundleFixture('transaction-reference-to-urn-not-in-bundle.json'));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[0].resource.subject']);
    expect(res.body.issue[0].diagnostics).to.contain('urn:uuid:5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b99');
    expect(await snapshot(server())).to.deep.equal(before);
  });

  it('"If any resource identities overlap in steps 1-3, then the transaction SHALL fail": two entries writing Patient/written-twice are a 400', async () => {
    const res = await post(server(), bundleFixture('transaction-same-patient-written-twice.json'));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression[0]).to.equal('Bundle.entry[1].request.url');
    expect(res.body.issue[0].diagnostics).to.contain('Patient/written-twice');
    expect((await server().fhir('GET', 'Patient/written-twice')).status).to.equal(404);
  });

  it('a DELETE and a conditional update resolving to the same resource overlap too', async () => {
    await server().fhir('PUT', 'Patient/overlap', { body: { resourceType: 'Patient', id: 'overlap' } });
    const res = await post(server(), transaction([
      { request: { method: 'DELETE', url: 'Patient/overlap' } },
      { resource: { resourceType: 'Patient', active: true }, request: { method: 'PUT', url: 'Patient?_id=overlap' } },
    ]));
    expect(res.status).to.equal(400);
    expect((await server().fhir('GET', 'Patient/overlap')).status).to.equal(200);
  });

  it('a failing entry keeps its status: 404 for a PATCH of an unknown resource, 422 for a failed JSON Patch test', async () => {
    const missing = await post(server(), transaction([
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from('[]').toString('base64') }, request: { method: 'PATCH', url: 'Patient/nobody' } },
    ]));
    expect(missing.status).to.equal(404);
    expect(missing.body.issue[0].expression).to.deep.equal(['Bundle.entry[0]']);
    await server().fhir('PUT', 'Patient/patch-test', { body: { resourceType: 'Patient', id: 'patch-test', active: true } });
    const ops = [{ op: 'test', path: '/active', value: false }];
    const failed = await post(server(), transaction([
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(ops)).toString('base64') }, request: { method: 'PATCH', url: 'Patient/patch-test' } },
    ]));
    expect(failed.status).to.equal(422);
  });

  it('an entry without request.method or url is a 400 naming it', async () => {
    const res = await post(server(), transaction([{ resource: { resourceType: 'Patient' }, request: { url: 'Patient' } as never }]));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[0].request.method']);
  });

  it('a Bundle of type document POSTed to the base is a 400 that says to use /fhir/Bundle; POST /fhir/Bundle stores it', async () => {
    const res = await post(server(), bundleFixture('document-bundle-discharge-summary.json'));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].diagnostics).to.contain('/fhir/Bundle');
    expect((await server().fhir('POST', 'Bundle', { body: bundleFixture('document-bundle-discharge-summary.json') })).status).to.equal(201);
  });

  it('a Bundle of type message (EPS prescription order) POSTed to the base is a 400 that names $process-message', async () => {
    const res = await post(server(), sharedExample('eps/pharmacist-prescriber.json') as never);
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].diagnostics).to.contain('$process-message');
  });

  it('a collection or a searchset is a 400; so is a body that is not a Bundle', async () => {
    expect((await post(server(), { resourceType: 'Bundle', type: 'collection' })).status).to.equal(400);
    expect((await post(server(), { resourceType: 'Bundle', type: 'searchset' })).status).to.equal(400);
    expect((await server().fhir('POST', '', { body: { resourceType: 'Patient' } })).status).to.equal(400);
  });
});

for (const kind of DB_KINDS) {
  describe(`bundle limits: MAX_BUNDLE_ENTRIES and MAX_BUNDLE_BYTES [${kind}]`, () => {
    let small: TestServer;
    before(async () => {
      small = await startTestServer(kind, { maxBundleEntries: 3, maxBundleBytes: 4000 });
    });
    after(() => small.stop());

    const orgs = (n: number, name = 'x') =>
      transaction(Array.from({ length: n }, () => ({ resource: { resourceType: 'Organization', name }, request: { method: 'POST', url: 'Organization' } })));

    it('more entries than MAX_BUNDLE_ENTRIES is 413 with an OperationOutcome, and nothing is written', async () => {
      const before = await snapshot(small);
      const res = await post(small, orgs(4));
      expect(res.status).to.equal(413);
      expect(res.body.resourceType).to.equal('OperationOutcome');
      expect(res.body.issue[0].diagnostics).to.contain('limit is 3');
      expect(await snapshot(small)).to.deep.equal(before);
      expect((await post(small, orgs(3))).status).to.equal(200);
    });

    it('a body over MAX_BUNDLE_BYTES is 413 with an OperationOutcome', async () => {
      const res = await post(small, orgs(2, 'y'.repeat(5000)));
      expect(res.status).to.equal(413);
      expect(res.body.resourceType).to.equal('OperationOutcome');
    });
  });
}
