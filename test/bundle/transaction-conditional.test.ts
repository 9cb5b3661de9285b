import { expect } from 'chai';
import { describeEachDatabase } from '../support/server.js';
import { bundleFixture, NHS, post, refOf, snapshot, transaction } from './support.js';

const patient = (nhs: string, family = 'Smith') => ({ resourceType: 'Patient' as const, identifier: [{ system: NHS, value: nhs }], name: [{ family }] });

describeEachDatabase('transaction: conditional entries and references (http.html#trules)', (server) => {
  it('a conditional reference with exactly one match is replaced by a reference to the matched resource', async () => {
    const created = await server().fhir('POST', 'Patient', { body: patient('9991111115') });
    const res = await post(server(), bundleFixture('transaction-careteam-conditional-reference-by-nhs-number.json'));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.entry[0].resource.subject.reference).to.equal(`Patient/${created.body.id}`);
  });

  it('a conditional reference with no match fails the transaction with 412 naming the entry element, and writes nothing', async () => {
    const before = await snapshot(server());
    const bundle = bundleFixture('transaction-careteam-conditional-reference-by-nhs-number.json');
    (bundle.entry![0].resource as { subject: { reference: string } }).subject.reference = `Patient?identifier=${NHS}|9996543218`;
    const res = await post(server(), bundle);
    expect(res.status).to.equal(412);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[0].resource.subject']);
    expect(await snapshot(server())).to.deep.equal(before);
  });

  it('two conditional writes that match nothing for the same criteria (however ordered) are a 400, not two resources', async () => {
    const before = await snapshot(server());
    const putBoth = await post(server(), transaction([
      { resource: patient('9000000106'), request: { method: 'PUT', url: `Patient?identifier=${NHS}|9000000106&family=Smith` } },
      { resource: { ...patient('9000000106'), gender: 'male' }, request: { method: 'PUT', url: `Patient?family=Smith&identifier=${NHS}|9000000106` } },
    ]));
    expect(putBoth.status, putBoth.text).to.equal(400);
    expect(putBoth.body.issue[0].expression).to.deep.equal(['Bundle.entry[1].request.url']);
    const postBoth = await post(server(), transaction([
      { resource: patient('9000000106'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS}|9000000106` } },
      { resource: patient('9000000106'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS}|9000000106` } },
    ]));
    expect(postBoth.status, postBoth.text).to.equal(400);
    expect(postBoth.body.issue[0].expression).to.deep.equal(['Bundle.entry[1].request.ifNoneExist']);
    expect(await snapshot(server())).to.deep.equal(before);
  });

  it('a conditional reference with several matches fails with 412', async () => {
    await server().fhir('POST', 'Patient', { body: patient('9000000017') });
    await server().fhir('POST', 'Patient', { body: patient('9000000017') });
    const res = await post(server(), transaction([
      { resource: { resourceType: 'CareTeam', subject: { reference: `Patient?identifier=${NHS}|9000000017` } }, request: { method: 'POST', url: 'CareTeam' } },
    ]));
    expect(res.status).to.equal(412);
    expect(res.body.issue[0].diagnostics).to.contain('more than one');
  });

  it('a conditional reference without criteria (Patient?) is 400 naming the element, and writes nothing', async () => {
    const before = await snapshot(server());
    const res = await post(server(), transaction([{ resource: { resourceType: 'CareTeam', subject: { reference: 'Patient?' } }, request: { method: 'POST', url: 'CareTeam' } }]));
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[0].resource.subject']);
    expect(await snapshot(server())).to.deep.equal(before);
  });

  it('a conditional reference finds a patient created earlier in the same transaction', async () => {
    const res = await post(server(), transaction([
      { resource: { resourceType: 'CareTeam', subject: { reference: `Patient?identifier=${NHS}|9000000025` } }, request: { method: 'POST', url: 'CareTeam' } },
      { fullUrl: 'urn:uuid:2b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d01', resource: patient('9000000025'), request: { method: 'POST', url: 'Patient' } },
    ]));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.entry[0].resource.subject.reference).to.equal(`Patient/${res.body.entry[1].resource.id}`);
  });

  it('ifNoneExist with one match creates nothing: 200 with the existing resource, and urn:uuid references to the entry point at it', async () => {
    const existing = await server().fhir('POST', 'Patient', { body: patient('9000000033') });
    const res = await post(server(), transaction([
      { fullUrl: 'urn:uuid:8e9f0a1b-2c3d-4e5f-8a7b-9c0d1e2f3a01', resource: patient('9000000033', 'Other'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS}|9000000033` } },
      { resource: { resourceType: 'CareTeam', subject: { reference: 'urn:uuid:8e9f0a1b-2c3d-4e5f-8a7b-9c0d1e2f3a01' } }, request: { method: 'POST', url: 'CareTeam' } },
    ]));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.entry[0].response.status).to.equal('200 OK');
    expect(res.body.entry[0].resource.name[0].family).to.equal('Smith');
    expect(res.body.entry[1].resource.subject.reference).to.equal(`Patient/${existing.body.id}`);
  });

  it('conditional update, delete and patch entries act on their one match', async () => {
    const upd = await server().fhir('POST', 'Patient', { body: patient('9000000041', 'Before') });
    const del = await server().fhir('POST', 'Patient', { body: patient('9000000068') });
    const pat = await server().fhir('POST', 'Patient', { body: patient('9000000076', 'Unpatched') });
    const res = await post(server(), transaction([
      { fullUrl: 'urn:uuid:4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e01', resource: patient('9000000041', 'After'), request: { method: 'PUT', url: `Patient?identifier=${NHS}|9000000041` } },
      { request: { method: 'DELETE', url: `Patient?identifier=${NHS}|9000000068` } },
      {
        resource: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.name[0].family' }, { name: 'value', valueString: 'Patched' }] }] },
        request: { method: 'PATCH', url: `Patient?identifier=${NHS}|9000000076` },
      },
      { resource: { resourceType: 'CareTeam', subject: { reference: 'urn:uuid:4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e01' } }, request: { method: 'POST', url: 'CareTeam' } },
    ]));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.entry[0].response.status).to.equal('200 OK');
    expect(res.body.entry[0].resource.id).to.equal(upd.body.id);
    expect(res.body.entry[0].resource.name[0].family).to.equal('After');
    expect((await server().fhir('GET', `Patient/${del.body.id}`)).status).to.equal(410);
    expect((await server().fhir('GET', `Patient/${pat.body.id}`)).body.name[0].family).to.equal('Patched');
    expect(res.body.entry[3].resource.subject.reference).to.equal(`Patient/${upd.body.id}`);
  });

  it('a conditional update with no match creates, with the id referenced by its urn:uuid', async () => {
    const res = await post(server(), transaction([
      { fullUrl: 'urn:uuid:4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e02', resource: patient('9000000084', 'New'), request: { method: 'PUT', url: `Patient?identifier=${NHS}|9000000084` } },
      { resource: { resourceType: 'CareTeam', subject: { reference: 'urn:uuid:4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e02' } }, request: { method: 'POST', url: 'CareTeam' } },
    ]));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.entry[0].response.status).to.equal('201 Created');
    expect(res.body.entry[1].resource.subject.reference).to.equal(refOf(res.body.entry[0].response.location));
  });

  it('a PATCH entry with a Binary JSON Patch (base64, application/json-patch+json) is applied', async () => {
    await server().fhir('PUT', 'Patient/binary-patch', { body: { resourceType: 'Patient', id: 'binary-patch', active: false } });
    const ops = [{ op: 'replace', path: '/active', value: true }];
    const res = await post(server(), transaction([
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(ops)).toString('base64') }, request: { method: 'PATCH', url: 'Patient/binary-patch' } },
    ]));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.entry[0].resource.active).to.equal(true);
    expect(res.body.entry[0].response.etag).to.equal('W/"2"');
  });

  it('per-entry ifMatch: a stale version fails the transaction with 412 naming the entry, and nothing is written', async () => {
    await server().fhir('PUT', 'Patient/if-match', { body: { resourceType: 'Patient', id: 'if-match' } });
    await server().fhir('PUT', 'Patient/if-match', { body: { resourceType: 'Patient', id: 'if-match', active: true } });
    const before = await snapshot(server());
    const res = await post(server(), transaction([
      { resource: { resourceType: 'Organization', name: 'Not written' }, request: { method: 'POST', url: 'Organization' } },
      { resource: { resourceType: 'Patient', id: 'if-match', active: false }, request: { method: 'PUT', url: 'Patient/if-match', ifMatch: 'W/"1"' } },
    ]));
    expect(res.status).to.equal(412);
    expect(res.body.issue[0].expression[0]).to.match(/^Bundle\.entry\[1\]/);
    expect(await snapshot(server())).to.deep.equal(before);
    const ok = await post(server(), transaction([
      { resource: { resourceType: 'Patient', id: 'if-match', active: false }, request: { method: 'PUT', url: 'Patient/if-match', ifMatch: 'W/"2"' } },
    ]));
    expect(ok.body.entry[0].response.etag).to.equal('W/"3"');
  });

  it('per-entry ifNoneMatch and ifModifiedSince on a GET answer 304 Not Modified', async () => {
    await server().fhir('PUT', 'Patient/cond-read', { body: { resourceType: 'Patient', id: 'cond-read' } });
    const res = await post(server(), transaction([
      { request: { method: 'GET', url: 'Patient/cond-read', ifNoneMatch: 'W/"1"' } },
      { request: { method: 'GET', url: 'Patient/cond-read', ifModifiedSince: new Date(Date.now() + 60_000).toUTCString() } },
      { request: { method: 'GET', url: 'Patient/cond-read', ifNoneMatch: 'W/"7"' } },
    ]));
    expect(res.status, res.text).to.equal(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).to.deep.equal(['304 Not Modified', '304 Not Modified', '200 OK']);
  });
});
