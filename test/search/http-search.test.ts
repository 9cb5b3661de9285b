import { expect } from 'chai';
import type { Bundle, BundleLink, Resource } from '@medplum/fhirtypes';
import { describeEachDatabase } from '../support/server.js';
import { neighbourhood } from './harness.js';

const matches = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();
const link = (b: Bundle, rel: string): string | undefined => b.link?.find((l: BundleLink) => l.relation === rel)?.url;

/** Search over HTTP (https://hl7.org/fhir/R4/search.html#Introduction), on the neighbourhood fixtures written through the store. */
describeEachDatabase('search over HTTP', (server) => {
  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Bundle }> => {
    const r = await server().fhir('GET', path, { headers });
    return { status: r.status, body: r.body as Bundle };
  };
  const after = (url: string): string => url.slice(server().base.length + 1);

  before(async () => {
    for (const resource of neighbourhood()) await server().running.services.store.update(resource as Resource & { id: string });
  });

  it('token on a code element: "the system is the one the binding implies"', async () => {
    const { body } = await get('Patient?gender=http://hl7.org/fhir/administrative-gender%7Cmale');
    expect(matches(body)).to.deep.equal(['Patient/pat-emile', 'Patient/pat-richard']);
    expect(matches((await get('Patient?gender=%7Cmale')).body)).to.deep.equal(['Patient/pat-emile', 'Patient/pat-richard']);
  });

  it('_summary=count: "return just a count of the matching resources, without returning the actual matches"', async () => {
    const { body } = await get('Patient?_summary=count');
    expect(body.total).to.equal(4);
    expect(body.entry ?? []).to.deep.equal([]);
  });

  it('_total=estimate returns a number; _total=none none', async () => {
    expect((await get('Patient?_total=estimate&_count=1')).body.total).to.be.a('number');
    expect((await get('Patient?_total=none&_count=1')).body.total).to.equal(undefined);
  });

  it('paging: next and previous links walk the pages both ways', async () => {
    const first = (await get('Patient?_sort=birthdate&_count=2')).body;
    expect(link(first, 'previous')).to.equal(undefined);
    const second = (await get(after(link(first, 'next')!))).body;
    expect(matches(second)).to.have.length(2);
    const back = (await get(after(link(second, 'previous')!))).body;
    expect(matches(back)).to.deep.equal(matches(first));
  });

  it('POST [type]/_search: parameters from the form body and from the URL both apply', async () => {
    const r = await server().fhir('POST', 'Patient/_search?gender=male', { raw: 'family=smith', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status).to.equal(200);
    expect(matches(r.body as Bundle)).to.deep.equal(['Patient/pat-richard']);
    expect(link(r.body as Bundle, 'self')).to.contain('gender=male').and.to.contain('family=smith');
  });

  it('POST [base]/_search: a system search with its parameters in the form body', async () => {
    const r = await server().fhir('POST', '_search', { raw: '_type=Patient&family=smith&gender=male', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.status, r.text).to.equal(200);
    expect((r.body as Bundle).type).to.equal('searchset');
    expect(matches(r.body as Bundle)).to.deep.equal(['Patient/pat-richard']);
  });

  it('system search: GET [base]?_type=Patient,Practitioner&_lastUpdated=gt...', async () => {
    const { status, body } = await get('?_type=Patient,Practitioner&_lastUpdated=gt2000-01-01&_count=100');
    expect(status).to.equal(200);
    const types = new Set(matches(body).map((m) => m.split('/')[0]));
    expect([...types].sort()).to.deep.equal(['Patient', 'Practitioner']);
    expect(body.total).to.equal(matches(body).length);
  });

  it('compartment search: GET Patient/[id]/* finds every resource in the patient\'s compartment, and the patient', async () => {
    const { status, body } = await get('Patient/pat-jane/*');
    expect(status).to.equal(200);
    expect(matches(body)).to.include.members(['Patient/pat-jane', 'CareTeam/ct-jane', 'MedicationRequest/mr-amox']);
    expect(matches(body).every((m) => !m.startsWith('Organization/'))).to.equal(true);
    expect(matches((await get('Patient/pat-jane/CareTeam')).body)).to.deep.equal(['CareTeam/ct-jane']);
  });

  it('compartment search across types: _type narrows Patient/[id]/* to the types named, and a type outside the compartment is refused by name', async () => {
    expect(matches((await get('Patient/pat-jane/*?_type=CareTeam')).body)).to.deep.equal(['CareTeam/ct-jane']);
    expect(matches((await get('Patient/pat-jane/*?_type=CareTeam,MedicationRequest&_sort=_id')).body)).to.deep.equal(['CareTeam/ct-jane', 'MedicationRequest/mr-amox', 'MedicationRequest/mr-old']);
    const strict = await server().fhir('GET', 'Patient/pat-jane/*?_type=Organization', { headers: { prefer: 'handling=strict' } });
    expect(strict.status).to.equal(400);
    expect(strict.body.issue[0].expression).to.deep.equal(['_type']);
    expect(strict.body.issue[0].diagnostics).to.match(/not in the Patient compartment/);
    expect(matches((await get('Patient/pat-jane/*?_type=Organization')).body)).to.deep.equal([]);
  });

  it('Prefer: handling=strict: an unknown parameter is a 400 OperationOutcome naming it', async () => {
    const r = await server().fhir('GET', 'Patient?colour=blue', { headers: { prefer: 'handling=strict' } });
    expect(r.status).to.equal(400);
    expect(r.body.resourceType).to.equal('OperationOutcome');
    expect(r.body.issue[0].expression).to.deep.equal(['colour']);
  });

  it('lenient: the unknown parameter is left out of the self link and reported in an entry with search.mode=outcome', async () => {
    const { status, body } = await get('Patient?family=smith&colour=blue');
    expect(status).to.equal(200);
    expect(link(body, 'self')).to.equal(`${server().base}/Patient?family=smith`);
    const outcome = body.entry?.find((e) => e.search?.mode === 'outcome');
    expect(outcome?.resource?.resourceType).to.equal('OperationOutcome');
  });

  it('DELETE of a SearchParameter makes its code unknown again', async () => {
    const sp = { resourceType: 'SearchParameter', url: 'https://neighbourhood.example.org/fhir/SearchParameter/http-pharmacy', name: 'HttpPharmacy', status: 'active', description: 'pharmacy', code: 'http-pharmacy', base: ['MedicationRequest'], type: 'reference', target: ['Organization'], expression: 'MedicationRequest.performer' };
    const created = await server().fhir('POST', 'SearchParameter', { body: sp });
    expect(created.status).to.equal(201);
    expect(matches((await get('MedicationRequest?http-pharmacy=org-pharmacy', { prefer: 'handling=strict' })).body)).to.have.length(2);
    expect((await server().fhir('DELETE', `SearchParameter/${created.body.id}`)).status).to.be.oneOf([200, 204]);
    expect((await get('MedicationRequest?http-pharmacy=org-pharmacy', { prefer: 'handling=strict' })).status).to.equal(400);
  });
});
