import { expect } from 'chai';
import { describeEachDatabase } from '../support/server';

// Rules of the R4 specification the hub used to bend (issue 15), each over HTTP.
const observation = (reference: string, id?: string) => ({ resourceType: 'Observation', ...(id ? { id } : {}), status: 'final', code: { text: 'x' }, subject: { reference } });
const JSON_PATCH = { 'content-type': 'application/json-patch+json' };

describeEachDatabase('R4 strictness', (server) => {
  let patientId: string;
  before(async () => {
    patientId = (await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', birthDate: '1970-01-01', name: [{ family: 'Strict' }], contact: [{ name: { family: 'Only' } }] } })).body.id;
  });
  const count = async (type: string): Promise<number> => (await server().fhir('GET', `${type}?_summary=count`)).body.total;

  describe('a Reference.reference to an unknown type or without an id is refused on every write path, naming the element (references.html#literal)', () => {
    for (const reference of ['Foo/1', 'Patient/']) {
      it(`${reference}: POST and PUT are 400 at Observation.subject.reference, and nothing is stored`, async () => {
        const before = await count('Observation');
        const posted = await server().fhir('POST', 'Observation', { body: observation(reference) });
        expect(posted.status).to.equal(400);
        expect(posted.body.issue[0].expression).to.deep.equal(['Observation.subject.reference']);
        const put = await server().fhir('PUT', 'Observation/strict-put', { body: observation(reference, 'strict-put') });
        expect(put.status).to.equal(400);
        expect(await count('Observation')).to.equal(before);
      });
      it(`${reference}: a JSON Patch whose result carries it is 400 and the resource is unchanged`, async () => {
        const res = await server().fhir('PATCH', `Patient/${patientId}`, { raw: JSON.stringify([{ op: 'add', path: '/managingOrganization', value: { reference } }]), headers: JSON_PATCH });
        expect(res.status).to.equal(400);
        expect(res.body.issue[0].expression).to.deep.equal(['Patient.managingOrganization.reference']);
        expect((await server().fhir('GET', `Patient/${patientId}`)).body.managingOrganization).to.equal(undefined);
      });
      it(`${reference}: a transaction entry fails the transaction; a batch entry fails alone`, async () => {
        const entry = { resource: observation(reference), request: { method: 'POST', url: 'Observation' } };
        const tx = await server().fhir('POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: [entry] } });
        expect(tx.status).to.equal(400);
        expect(tx.body.issue[0].expression[0]).to.match(/^Bundle\.entry\[0\]\.resource\.subject\.reference$/);
        const batch = await server().fhir('POST', '', { body: { resourceType: 'Bundle', type: 'batch', entry: [entry] } });
        expect(batch.body.entry[0].response.status).to.match(/^400/);
      });
    }
  });

  describe('a malformed value of a known search parameter is 400, even with lenient handling (search.html#errors)', () => {
    for (const query of ['_count=-1', '_count=abc', '_summary=bogus', 'birthdate=notadate']) {
      it(`Patient?${query}`, async () => {
        const res = await server().fhir('GET', `Patient?${query}`, { headers: { prefer: 'handling=lenient' } });
        expect(res.status).to.equal(400);
        expect(res.body.issue[0].expression).to.deep.equal([query.split('=')[0]]);
      });
    }
    it('an unknown parameter is still ignored with a warning when lenient', async () => {
      const res = await server().fhir('GET', 'Patient?nonsense=1', { headers: { prefer: 'handling=lenient' } });
      expect(res.status).to.equal(200);
    });
  });

  describe('versions (http.html#vread, #concurrency)', () => {
    for (const vid of ['99', 'abc', '0', '1.5']) {
      it(`vread of version '${vid}', which does not exist, is 404`, async () => {
        expect((await server().fhir('GET', `Patient/${patientId}/_history/${vid}`)).status).to.equal(404);
      });
    }
    for (const etag of ['W/"99"', '"99"', '99', 'W/"abc"', 'bogus']) {
      it(`If-Match ${etag} is 412 on PUT, JSON Patch, FHIRPath Patch and batch entries, and nothing changes`, async () => {
        const current = (await server().fhir('GET', `Patient/${patientId}`)).body;
        const put = await server().fhir('PUT', `Patient/${patientId}`, { body: { ...current, gender: 'other' }, headers: { 'if-match': etag } });
        expect(put.status).to.equal(412);
        const jsonPatch = await server().fhir('PATCH', `Patient/${patientId}`, { raw: JSON.stringify([{ op: 'add', path: '/gender', value: 'other' }]), headers: { ...JSON_PATCH, 'if-match': etag } });
        expect(jsonPatch.status).to.equal(412);
        const fhirPathPatch = await server().fhir('PATCH', `Patient/${patientId}`, {
          body: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }, { name: 'path', valueString: 'Patient.birthDate' }] }] },
          headers: { 'if-match': etag },
        });
        expect(fhirPathPatch.status).to.equal(412);
        const batch = await server().fhir('POST', '', { body: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: { ...current, gender: 'other' }, request: { method: 'PUT', url: `Patient/${patientId}`, ifMatch: etag } }] } });
        expect(batch.body.entry[0].response.status).to.match(/^412/);
        const tx = await server().fhir('POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...current, gender: 'other' }, request: { method: 'PUT', url: `Patient/${patientId}`, ifMatch: etag } }] } });
        expect(tx.status).to.equal(412);
        expect((await server().fhir('GET', `Patient/${patientId}`)).body.meta.versionId).to.equal(current.meta.versionId);
      });
    }
    it('an If-None-Match that does not match is a 200 with the body; one that matches is 304', async () => {
      const current = await server().fhir('GET', `Patient/${patientId}`);
      const other = await server().fhir('GET', `Patient/${patientId}`, { headers: { 'if-none-match': 'W/"999"' } });
      expect(other.status).to.equal(200);
      expect(other.body.id).to.equal(patientId);
      expect((await server().fhir('GET', `Patient/${patientId}`, { headers: { 'if-none-match': current.headers.get('etag') as string } })).status).to.equal(304);
    });
  });

  it("an absolute reference on this server's base is stored as the relative one, and found by either in search", async () => {
    const absolute = `${server().base}/Patient/${patientId}`;
    const created = await server().fhir('POST', 'Observation', { body: observation(absolute) });
    expect(created.status).to.equal(201);
    expect(created.body.subject.reference).to.equal(`Patient/${patientId}`);
    const byAbsolute = await server().fhir('GET', `Observation?subject=${encodeURIComponent(absolute)}`);
    const byRelative = await server().fhir('GET', `Observation?subject=Patient/${patientId}`);
    expect(byAbsolute.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).to.include(created.body.id);
    expect(byRelative.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).to.include(created.body.id);
  });

  it('the base the request came in on (127.0.0.1 for a server known as localhost) is local too, in stored references and search criteria', async () => {
    const origin = server().base.replace('//localhost:', '//127.0.0.1:');
    const absolute = `${origin}/Patient/${patientId}`;
    const created = await server().fetch(`${origin}/Observation`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(observation(absolute)) });
    expect(created.status).to.equal(201);
    const body = (await created.json()) as { id: string; subject: { reference: string } };
    expect(body.subject.reference).to.equal(`Patient/${patientId}`);
    const found = await server().fetch(`${origin}/Observation?subject=${encodeURIComponent(absolute)}`);
    const bundle = (await found.json()) as { entry: { resource: { id: string } }[] };
    expect(bundle.entry.map((e) => e.resource.id)).to.include(body.id);
  });

  it("a transaction's conditional create with one match answers 200 with the existing resource's location, and creates nothing (http.html#ccreate)", async () => {
    const existing = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', identifier: [{ system: 'urn:strict', value: 'one' }] } });
    const before = await count('Patient');
    const tx = await server().fhir('POST', '', {
      body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', identifier: [{ system: 'urn:strict', value: 'one' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:strict|one' } }] },
    });
    expect(tx.status).to.equal(200);
    expect(tx.body.entry[0].response.status).to.match(/^200/);
    expect(tx.body.entry[0].response.location).to.contain(`Patient/${existing.body.id}/_history/1`);
    expect(await count('Patient')).to.equal(before);
  });

  it('a FHIRPath Patch delete leaves no empty element behind (contact[0] with only its name deleted goes too)', async () => {
    const res = await server().fhir('PATCH', `Patient/${patientId}`, {
      body: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }, { name: 'path', valueString: 'Patient.contact[0].name' }] }] },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.not.have.property('contact');
  });
});
