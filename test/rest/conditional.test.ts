import { expect } from 'chai';
import { describeEachDatabase } from '../support/server.js';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const patient = (nhs: string, family = 'Smith') => ({
  resourceType: 'Patient',
  identifier: [{ system: NHS, value: nhs }],
  name: [{ family }],
});

describeEachDatabase('conditional interactions (http.html#ccreate, #cond-update, #cdelete)', (server) => {
  it('conditional create with no match creates (201)', async () => {
    const res = await server().fhir('POST', 'Patient', { body: patient('9000000009'), headers: { 'if-none-exist': `identifier=${NHS}|9000000009` } });
    expect(res.status).to.equal(201);
  });

  it('conditional create with one match returns 200 and creates nothing', async () => {
    const first = await server().fhir('POST', 'Patient', { body: patient('9991111115'), headers: { 'if-none-exist': `identifier=${NHS}|9991111115` } });
    const again = await server().fhir('POST', 'Patient', { body: patient('9991111115', 'Other'), headers: { 'if-none-exist': `identifier=${NHS}|9991111115` } });
    expect(again.status).to.equal(200);
    expect(again.body.id).to.equal(first.body.id);
    expect(again.body.name[0].family).to.equal('Smith');
  });

  it('conditional create with several matches is 412', async () => {
    await server().fhir('POST', 'Patient', { body: patient('9996543218') });
    await server().fhir('POST', 'Patient', { body: patient('9996543218') });
    const res = await server().fhir('POST', 'Patient', { body: patient('9996543218'), headers: { 'if-none-exist': `identifier=${NHS}|9996543218` } });
    expect(res.status).to.equal(412);
  });

  it('criteria of result parameters only (_count, _sort, _summary) are 400, not a match of everything', async () => {
    const total = async (): Promise<number> => (await server().fhir('GET', 'Patient?_summary=count')).body.total;
    const before = await total();
    for (const only of ['_count=1', '_sort=name', '_summary=count']) {
      expect((await server().fhir('POST', 'Patient', { body: patient('9000000009'), headers: { 'if-none-exist': only } })).status, only).to.equal(400);
      expect((await server().fhir('PUT', `Patient?${only}`, { body: patient('9000000009') })).status, only).to.equal(400);
      expect((await server().fhir('DELETE', `Patient?${only}`)).status, only).to.equal(400);
    }
    expect(await total()).to.equal(before);
  });

  it('_type naming a type twice searches it once', async () => {
    await server().fhir('POST', 'Patient', { body: patient('9449305552', 'Twice') });
    const once = await server().fhir('GET', '?_type=Patient&family=Twice');
    const twice = await server().fhir('GET', '?_type=Patient,Patient&family=Twice');
    expect(twice.body.total).to.equal(once.body.total);
    expect(twice.body.entry.length).to.equal(once.body.entry.length);
  });

  it('conditional update with no match creates, with one match updates it, with several is 412', async () => {
    const created = await server().fhir('PUT', `Patient?identifier=${NHS}|9000000017`, { body: patient('9000000017') });
    expect(created.status).to.equal(201);
    const updated = await server().fhir('PUT', `Patient?identifier=${NHS}|9000000017`, { body: patient('9000000017', 'Jones') });
    expect(updated.status).to.equal(200);
    expect(updated.body.id).to.equal(created.body.id);
    expect(updated.body.meta.versionId).to.equal('2');
    await server().fhir('POST', 'Patient', { body: patient('9000000017') });
    const many = await server().fhir('PUT', `Patient?identifier=${NHS}|9000000017`, { body: patient('9000000017', 'Brown') });
    expect(many.status).to.equal(412);
  });

  it('conditional update whose body id is not the matching resource is 400', async () => {
    await server().fhir('POST', 'Patient', { body: patient('9000000025') });
    const res = await server().fhir('PUT', `Patient?identifier=${NHS}|9000000025`, { body: { ...patient('9000000025'), id: 'someone-else' } });
    expect(res.status).to.equal(400);
  });

  it('conditional delete removes the one match; several matches are 412', async () => {
    const one = await server().fhir('POST', 'Patient', { body: patient('9000000033') });
    const del = await server().fhir('DELETE', `Patient?identifier=${NHS}|9000000033`);
    expect(del.status).to.be.oneOf([200, 204]);
    expect((await server().fhir('GET', `Patient/${one.body.id}`)).status).to.equal(410);
    await server().fhir('POST', 'Patient', { body: patient('9000000041') });
    await server().fhir('POST', 'Patient', { body: patient('9000000041') });
    expect((await server().fhir('DELETE', `Patient?identifier=${NHS}|9000000041`)).status).to.equal(412);
  });

  it('conditional criteria by _id work', async () => {
    const one = await server().fhir('POST', 'Patient', { body: patient('9000000068') });
    const res = await server().fhir('POST', 'Patient', { body: patient('9000000068'), headers: { 'if-none-exist': `_id=${one.body.id}` } });
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(one.body.id);
  });

  it('If-None-Match on an update writes only where it names no current version (RFC 9110): `*` creates only, an ETag updates only another version; else 412 and nothing changes', async () => {
    const id = `inm-${Date.now()}`;
    const body = { resourceType: 'Patient', id, gender: 'female' };
    const put = (headers: Record<string, string>, gender = 'female') => server().fhir('PUT', `Patient/${id}`, { body: { ...body, gender }, headers });
    expect((await put({ 'if-none-match': '*' })).status).to.equal(201);
    const refused = await put({ 'if-none-match': '*' }, 'male');
    expect(refused.status).to.equal(412);
    expect(refused.body.resourceType).to.equal('OperationOutcome');
    expect((await put({ 'if-none-match': 'W/"1"' }, 'male')).status).to.equal(412);
    expect((await server().fhir('GET', `Patient/${id}`)).body.gender).to.equal('female');
    expect((await server().fhir('GET', `Patient/${id}`)).body.meta.versionId).to.equal('1');
    expect((await put({ 'if-none-match': 'W/"7"' }, 'male')).status).to.equal(200);
    const inTransaction = await server().fhir('POST', '', {
      body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...body, gender: 'other' }, request: { method: 'PUT', url: `Patient/${id}`, ifNoneMatch: '*' } }] },
    });
    expect(inTransaction.status).to.equal(412);
    expect((await server().fhir('GET', `Patient/${id}`)).body).to.deep.include({ gender: 'male' });
  });
});
