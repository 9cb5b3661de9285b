import { expect } from 'chai';
import { describeEachDatabase } from '../support/server.js';

describeEachDatabase('patch (http.html#patch, fhirpatch.html)', (server) => {
  async function newPatient(): Promise<string> {
    const res = await server().fhir('POST', 'Patient', {
      body: { resourceType: 'Patient', active: true, name: [{ family: 'Okafor', given: ['Ada', 'Grace'] }], telecom: [{ system: 'phone', value: '0113 496 0000' }] },
    });
    return res.body.id;
  }

  it('JSON Patch replaces a value and creates a new version', async () => {
    const id = await newPatient();
    const res = await server().fhir('PATCH', `Patient/${id}`, {
      raw: JSON.stringify([{ op: 'replace', path: '/active', value: false }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(res.status).to.equal(200);
    expect(res.body.active).to.equal(false);
    expect(res.body.meta.versionId).to.equal('2');
  });

  it('a patch that changes nothing (an empty JSON Patch, a value replaced by itself) makes no new version; a stale If-Match is still 412', async () => {
    const id = await newPatient();
    const json = { 'content-type': 'application/json-patch+json' };
    for (const ops of [[], [{ op: 'replace', path: '/active', value: true }]]) {
      const res = await server().fhir('PATCH', `Patient/${id}`, { raw: JSON.stringify(ops), headers: json });
      expect(res.status, JSON.stringify(ops)).to.equal(200);
      expect(res.headers.get('etag')).to.equal('W/"1"');
    }
    expect((await server().fhir('GET', `Patient/${id}/_history`)).body.total).to.equal(1);
    expect((await server().fhir('PATCH', `Patient/${id}`, { raw: '[]', headers: { ...json, 'if-match': 'W/"7"' } })).status).to.equal(412);
  });

  it('JSON Patch with a failing test operation changes nothing', async () => {
    const id = await newPatient();
    const res = await server().fhir('PATCH', `Patient/${id}`, {
      raw: JSON.stringify([{ op: 'test', path: '/active', value: false }, { op: 'remove', path: '/name' }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(res.status).to.be.oneOf([400, 409, 422]);
    const after = await server().fhir('GET', `Patient/${id}`);
    expect(after.body.meta.versionId).to.equal('1');
    expect(after.body.name).to.have.length(1);
  });

  it('a JSON Patch operation without the value or from its op needs is 400 and changes nothing (RFC 6902 §4)', async () => {
    const id = await newPatient();
    for (const op of [{ op: 'test', path: '/deceasedBoolean' }, { op: 'add', path: '/gender' }, { op: 'copy', path: '/gender' }]) {
      const res = await server().fhir('PATCH', `Patient/${id}`, { raw: JSON.stringify([op]), headers: { 'content-type': 'application/json-patch+json' } });
      expect(res.status, JSON.stringify(op)).to.equal(400);
      expect(res.body.issue[0].expression).to.deep.equal(['Patch[0]']);
    }
    expect((await server().fhir('GET', `Patient/${id}`)).body.meta.versionId).to.equal('1');
  });

  it('a patch that makes the resource invalid is rejected and nothing changes', async () => {
    const id = await newPatient();
    const res = await server().fhir('PATCH', `Patient/${id}`, {
      raw: JSON.stringify([{ op: 'add', path: '/gender', value: 'bogus' }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(res.status).to.be.oneOf([400, 422]);
    expect(res.body.issue[0].expression[0]).to.contain('gender');
    expect((await server().fhir('GET', `Patient/${id}`)).body.gender).to.equal(undefined);
  });

  it('FHIRPath Patch: add, insert, replace, delete and move', async () => {
    const id = await newPatient();
    const op = (parts: unknown[]) => ({ name: 'operation', part: parts });
    const body = {
      resourceType: 'Parameters',
      parameter: [
        op([{ name: 'type', valueCode: 'add' }, { name: 'path', valueString: 'Patient' }, { name: 'name', valueString: 'birthDate' }, { name: 'value', valueDate: '1956-03-14' }]),
        op([{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.active' }, { name: 'value', valueBoolean: false }]),
        op([{ name: 'type', valueCode: 'insert' }, { name: 'path', valueString: 'Patient.name[0].given' }, { name: 'index', valueInteger: 0 }, { name: 'value', valueString: 'Dr' }]),
        op([{ name: 'type', valueCode: 'move' }, { name: 'path', valueString: 'Patient.name[0].given' }, { name: 'source', valueInteger: 2 }, { name: 'destination', valueInteger: 1 }]),
        op([{ name: 'type', valueCode: 'delete' }, { name: 'path', valueString: "Patient.telecom.where(system='phone')" }]),
        op([
          { name: 'type', valueCode: 'add' },
          { name: 'path', valueString: 'Patient' },
          { name: 'name', valueString: 'contact' },
          { name: 'value', part: [{ name: 'gender', valueCode: 'male' }, { name: 'name', valueHumanName: { family: 'Okafor' } }] },
        ]),
      ],
    };
    const res = await server().fhir('PATCH', `Patient/${id}`, { body });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.birthDate).to.equal('1956-03-14');
    expect(res.body.active).to.equal(false);
    expect(res.body.name[0].given).to.deep.equal(['Dr', 'Grace', 'Ada']);
    expect(res.body.telecom).to.equal(undefined);
    expect(res.body.contact).to.deep.equal([{ gender: 'male', name: { family: 'Okafor' } }]);
  });

  it('PATCH with If-Match of an old version is 412', async () => {
    const id = await newPatient();
    const res = await server().fhir('PATCH', `Patient/${id}`, {
      raw: JSON.stringify([{ op: 'replace', path: '/active', value: false }]),
      headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"7"' },
    });
    expect(res.status).to.equal(412);
  });

  it('conditional patch applies to the one match', async () => {
    const created = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: 'cp-1' }] } });
    const res = await server().fhir('PATCH', 'Patient?identifier=urn:test|cp-1', {
      raw: JSON.stringify([{ op: 'add', path: '/active', value: true }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(created.body.id);
    expect(res.body.active).to.equal(true);
  });
});
