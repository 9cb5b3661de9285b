import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fixture, SHARED_EXAMPLES, sharedExample } from '../support/examples.js';
import { describeEachDatabase } from '../support/server.js';

const CORE_TYPES = ['Patient', 'CareTeam', 'MedicationRequest', 'Appointment', 'Organization', 'Practitioner', 'PractitionerRole', 'Location', 'HealthcareService'];

describeEachDatabase('REST core interactions (http.html)', (server) => {
  describe('create, read, vread', () => {
    it('create returns 201 with Location _history/1, ETag W/"1", Last-Modified and the stored resource', async () => {
      const res = await server().fhir('POST', 'Patient', { body: fixture('rest/patient-minimal.json') });
      expect(res.status).to.equal(201);
      expect(res.headers.get('content-type')).to.match(/^application\/fhir\+json/);
      const { id } = res.body;
      expect(id).to.be.a('string');
      expect(res.headers.get('location')).to.equal(`${server().base}/Patient/${id}/_history/1`);
      expect(res.headers.get('etag')).to.equal('W/"1"');
      expect(new Date(res.headers.get('last-modified') as string).getTime()).to.be.closeTo(Date.parse(res.body.meta.lastUpdated), 1000);
      expect(res.body.meta.versionId).to.equal('1');
    });

    it('create ignores an id given in the body and assigns its own', async () => {
      const res = await server().fhir('POST', 'Patient', { body: { ...fixture('rest/patient-minimal.json'), id: 'chosen-by-client' } });
      expect(res.status).to.equal(201);
      expect(res.body.id).to.not.equal('chosen-by-client');
    });

    for (const type of CORE_TYPES) {
      it(`every UK Core ${type} example round-trips through update-as-create, read and vread`, async () => {
        const file = readdirSync(path.join(SHARED_EXAMPLES, 'ukcore')).find((f) => f.startsWith(`UKCore-${type}-`));
        // The UK Core Appointment example still carries DSTU2-style fhir_comments, which R4 JSON does not allow.
        const example = JSON.parse(JSON.stringify(sharedExample(`ukcore/${file}`), (k, v) => (k === 'fhir_comments' ? undefined : v)));
        const put = await server().fhir('PUT', `${type}/${example.id}`, { body: example });
        expect(put.status, JSON.stringify(put.body)).to.equal(201);
        const read = await server().fhir('GET', `${type}/${example.id}`);
        expect(read.status).to.equal(200);
        const { meta, ...rest } = read.body;
        const { meta: _m, ...sent } = example as unknown as Record<string, unknown>;
        expect(rest).to.deep.equal(sent);
        expect(meta.versionId).to.equal('1');
        const vread = await server().fhir('GET', `${type}/${example.id}/_history/1`);
        expect(vread.body).to.deep.equal(read.body);
      });
    }

    it('read of an unknown id is 404 with an OperationOutcome', async () => {
      const res = await server().fhir('GET', 'Patient/does-not-exist');
      expect(res.status).to.equal(404);
      expect(res.body.resourceType).to.equal('OperationOutcome');
    });

    it('an unknown resource type is 404', async () => {
      const res = await server().fhir('GET', 'Spaceship/1');
      expect(res.status).to.equal(404);
      expect(res.body.issue[0].diagnostics).to.contain('Spaceship');
    });
  });

  describe('update and versioning', () => {
    it('update increments meta.versionId, keeps every version, and answers 200 with ETag', async () => {
      const created = await server().fhir('POST', 'Organization', { body: { resourceType: 'Organization', name: 'Church Street Surgery' } });
      const id = created.body.id;
      const updated = await server().fhir('PUT', `Organization/${id}`, { body: { resourceType: 'Organization', id, name: 'Church St Surgery' } });
      expect(updated.status).to.equal(200);
      expect(updated.headers.get('etag')).to.equal('W/"2"');
      expect(updated.body.meta.versionId).to.equal('2');
      const v1 = await server().fhir('GET', `Organization/${id}/_history/1`);
      expect(v1.body.name).to.equal('Church Street Surgery');
      const v2 = await server().fhir('GET', `Organization/${id}/_history/2`);
      expect(v2.body.name).to.equal('Church St Surgery');
    });

    it('update without an id in the body, or with a different one, is 400', async () => {
      const noId = await server().fhir('PUT', 'Organization/abc', { body: { resourceType: 'Organization', name: 'x' } });
      expect(noId.status).to.equal(400);
      const other = await server().fhir('PUT', 'Organization/abc', { body: { resourceType: 'Organization', id: 'xyz', name: 'x' } });
      expect(other.status).to.equal(400);
      expect(other.body.issue[0].expression).to.deep.equal(['Organization.id']);
      expect((await server().fhir('GET', 'Organization/abc')).status).to.equal(404);
    });

    it('a body whose resourceType differs from the URL is 400 and nothing is stored', async () => {
      const res = await server().fhir('PUT', 'Organization/wrong-type', { body: { resourceType: 'Patient', id: 'wrong-type' } });
      expect(res.status).to.equal(400);
      expect((await server().fhir('GET', 'Organization/wrong-type')).status).to.equal(404);
    });

    it('If-Match with a stale version is 412 and the resource is unchanged', async () => {
      const created = await server().fhir('POST', 'Location', { body: { resourceType: 'Location', name: 'Site A' } });
      const id = created.body.id;
      await server().fhir('PUT', `Location/${id}`, { body: { resourceType: 'Location', id, name: 'Site B' } });
      const stale = await server().fhir('PUT', `Location/${id}`, { body: { resourceType: 'Location', id, name: 'Site C' }, headers: { 'if-match': 'W/"1"' } });
      expect(stale.status).to.equal(412);
      expect(stale.body.resourceType).to.equal('OperationOutcome');
      expect((await server().fhir('GET', `Location/${id}`)).body.name).to.equal('Site B');
      const fresh = await server().fhir('PUT', `Location/${id}`, { body: { resourceType: 'Location', id, name: 'Site C' }, headers: { 'if-match': 'W/"2"' } });
      expect(fresh.status).to.equal(200);
    });

    it('of N concurrent updates carrying the same If-Match, exactly one succeeds', async () => {
      const created = await server().fhir('POST', 'CareTeam', { body: { resourceType: 'CareTeam', status: 'active' } });
      const id = created.body.id;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          server().fhir('PUT', `CareTeam/${id}`, { body: { resourceType: 'CareTeam', id, status: 'active', name: `team ${i}` }, headers: { 'if-match': 'W/"1"' } }),
        ),
      );
      expect(results.filter((r) => r.status === 200)).to.have.length(1);
      expect(results.filter((r) => r.status === 412)).to.have.length(7);
      expect((await server().fhir('GET', `CareTeam/${id}`)).body.meta.versionId).to.equal('2');
    });
  });

  describe('delete', () => {
    it('a deleted resource reads as 410 Gone; deleting again is still a success; its versions stay readable', async () => {
      const created = await server().fhir('POST', 'Appointment', { body: { resourceType: 'Appointment', status: 'proposed', participant: [{ actor: { display: 'Ada Okafor' }, status: 'needs-action' }] } });
      const id = created.body.id;
      const del = await server().fhir('DELETE', `Appointment/${id}`);
      expect(del.status).to.be.oneOf([200, 204]);
      expect((await server().fhir('GET', `Appointment/${id}`)).status).to.equal(410);
      expect((await server().fhir('DELETE', `Appointment/${id}`)).status).to.be.oneOf([200, 204]);
      expect((await server().fhir('GET', `Appointment/${id}/_history/1`)).status).to.equal(200);
      expect((await server().fhir('GET', `Appointment/${id}/_history/2`)).status).to.equal(410);
    });

    it('delete with a stale If-Match is 412 and nothing is deleted', async () => {
      const created = await server().fhir('POST', 'Practitioner', { body: { resourceType: 'Practitioner', name: [{ family: 'Rastall' }] } });
      const res = await server().fhir('DELETE', `Practitioner/${created.body.id}`, { headers: { 'if-match': 'W/"5"' } });
      expect(res.status).to.equal(412);
      expect((await server().fhir('GET', `Practitioner/${created.body.id}`)).status).to.equal(200);
    });

    it('update after delete brings the resource back with the next version', async () => {
      const created = await server().fhir('POST', 'Practitioner', { body: { resourceType: 'Practitioner', name: [{ family: 'Chuck' }] } });
      const id = created.body.id;
      await server().fhir('DELETE', `Practitioner/${id}`);
      const back = await server().fhir('PUT', `Practitioner/${id}`, { body: { resourceType: 'Practitioner', id, name: [{ family: 'Chuck' }] } });
      expect(back.status).to.be.oneOf([200, 201]);
      expect(back.body.meta.versionId).to.equal('3');
    });
  });

  describe('conditional read', () => {
    it('If-None-Match with the current ETag is 304; with an older one it is 200', async () => {
      const created = await server().fhir('POST', 'HealthcareService', { body: { resourceType: 'HealthcareService', name: 'Memory clinic' } });
      const id = created.body.id;
      expect((await server().fhir('GET', `HealthcareService/${id}`, { headers: { 'if-none-match': 'W/"1"' } })).status).to.equal(304);
      await server().fhir('PUT', `HealthcareService/${id}`, { body: { resourceType: 'HealthcareService', id, name: 'Memory service' } });
      expect((await server().fhir('GET', `HealthcareService/${id}`, { headers: { 'if-none-match': 'W/"1"' } })).status).to.equal(200);
    });

    it('If-Modified-Since at or after Last-Modified is 304; before it is 200', async () => {
      const created = await server().fhir('POST', 'HealthcareService', { body: { resourceType: 'HealthcareService', name: 'Falls service' } });
      const lastModified = created.headers.get('last-modified') as string;
      const url = `HealthcareService/${created.body.id}`;
      expect((await server().fhir('GET', url, { headers: { 'if-modified-since': lastModified } })).status).to.equal(304);
      const before = new Date(Date.parse(lastModified) - 60_000).toUTCString();
      expect((await server().fhir('GET', url, { headers: { 'if-modified-since': before } })).status).to.equal(200);
    });
  });

  describe('Prefer: return', () => {
    it('return=minimal answers with no body; return=OperationOutcome with an OperationOutcome', async () => {
      const minimal = await server().fhir('POST', 'Organization', { body: { resourceType: 'Organization', name: 'A' }, headers: { prefer: 'return=minimal' } });
      expect(minimal.status).to.equal(201);
      expect(minimal.text).to.equal('');
      expect(minimal.headers.get('location')).to.match(/\/Organization\/[^/]+\/_history\/1$/);
      const oo = await server().fhir('POST', 'Organization', { body: { resourceType: 'Organization', name: 'B' }, headers: { prefer: 'return=OperationOutcome' } });
      expect(oo.body.resourceType).to.equal('OperationOutcome');
      const rep = await server().fhir('POST', 'Organization', { body: { resourceType: 'Organization', name: 'C' }, headers: { prefer: 'return=representation' } });
      expect(rep.body.name).to.equal('C');
    });
  });

  it('read and vread take _summary and _elements, giving the part asked for tagged SUBSETTED; an unknown _summary is a 400', async () => {
    const created = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Part' }], gender: 'female', birthDate: '1970-01-01', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Part</div>' } } });
    const { id } = created.body;
    const subsetted = (body: { meta: { tag?: Array<{ code: string }> } }): boolean => !!body.meta.tag?.some((t) => t.code === 'SUBSETTED');
    const elements = await server().fhir('GET', `Patient/${id}?_elements=name`);
    expect(elements.status).to.equal(200);
    expect(Object.keys(elements.body).sort()).to.deep.equal(['id', 'meta', 'name', 'resourceType']);
    expect(subsetted(elements.body)).to.equal(true);
    const summary = await server().fhir('GET', `Patient/${id}/_history/1?_summary=true`);
    expect(summary.body).to.include({ gender: 'female', birthDate: '1970-01-01' });
    expect(summary.body.text).to.equal(undefined);
    expect(subsetted(summary.body)).to.equal(true);
    expect((await server().fhir('GET', `Patient/${id}?_summary=text`)).body.gender).to.equal(undefined);
    const whole = await server().fhir('GET', `Patient/${id}`);
    expect(subsetted(whole.body)).to.equal(false);
    for (const bad of ['bogus', 'count']) expect((await server().fhir('GET', `Patient/${id}?_summary=${bad}`)).status, bad).to.equal(400);
  });

  it('a resource sent as a form is 415; a body whose resourceType is no string is a 400 saying so', async () => {
    const form = await server().fhir('PUT', 'Patient/form-body', { raw: 'resourceType=Patient', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).to.equal(415);
    const listed = await server().fhir('POST', 'Patient', { raw: '{"resourceType":["Patient"]}', headers: { 'content-type': 'application/fhir+json' } });
    expect(listed.status).to.equal(400);
    expect(listed.body.issue[0].diagnostics).to.match(/resourceType is no string/);
  });
});
