import { expect } from 'chai';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { FhirError } from '../../server/errors.js';
import type { Harness } from './harness.js';
import { BASE, loadNeighbourhood, openHarness } from './harness.js';

const matches = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);
const included = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();
const link = (b: Bundle, rel: string): string | undefined => b.link?.find((l) => l.relation === rel)?.url;
const query = (url: string): string => url.slice(url.indexOf('?') + 1);

describe('search: result parameters (https://hl7.org/fhir/R4/search.html#return)', () => {
  let h: Harness;
  before(async () => {
    h = await openHarness();
    await loadNeighbourhood(h);
  });
  after(() => h.db.close());

  it('_include adds the referenced resources with search.mode=include', async () => {
    const b = await h.search('CareTeam', 'participant=Practitioner/pr-pharm&_include=CareTeam:subject');
    expect(matches(b)).to.deep.equal(['ct-jane']);
    expect(included(b)).to.deep.equal(['Patient/pat-jane']);
    expect(b.entry?.[1].fullUrl).to.equal(`${BASE}/Patient/pat-jane`);
  });

  it('_include with a target type and _include=* ', async () => {
    expect(included(await h.search('CareTeam', '_id=ct-jane&_include=CareTeam:participant:Organization'))).to.deep.equal(['Organization/org-voluntary']);
    expect(included(await h.search('MedicationRequest', '_id=mr-amox&_include=*'))).to.deep.equal(['Organization/org-pharmacy', 'Patient/pat-jane', 'Practitioner/pr-pharm']);
  });

  it('_revinclude adds the resources that refer to the matches', async () => {
    const b = await h.search('Patient', '_id=pat-richard&_revinclude=CareTeam:subject&_revinclude=MedicationRequest:subject');
    expect(included(b)).to.deep.equal(['CareTeam/ct-richard', 'CareTeam/ct-richard-old', 'MedicationRequest/mr-richard']);
  });

  it('_include:iterate follows references from included resources too', async () => {
    const once = await h.search('CareTeam', '_id=ct-jane&_include=CareTeam:participant:PractitionerRole&_include=PractitionerRole:practitioner');
    expect(included(once)).to.deep.equal(['PractitionerRole/role-gp']);
    const iterated = await h.search('CareTeam', '_id=ct-jane&_include=CareTeam:participant:PractitionerRole&_include:iterate=PractitionerRole:practitioner');
    expect(included(iterated)).to.deep.equal(['Practitioner/pr-gp', 'PractitionerRole/role-gp']);
  });

  it('_sort on several keys, - for descending, _id and _lastUpdated', async () => {
    expect(matches(await h.search('MedicationRequest', '_sort=-authoredon'))).to.deep.equal(['mr-richard', 'mr-amox', 'mr-old']);
    expect(matches(await h.search('MedicationRequest', '_sort=status,-authoredon'))).to.deep.equal(['mr-richard', 'mr-amox', 'mr-old']);
    expect(matches(await h.search('MedicationRequest', '_sort=-status,authoredon'))).to.deep.equal(['mr-old', 'mr-amox', 'mr-richard']);
    expect(matches(await h.search('Patient', '_sort=-_id'))).to.deep.equal(['pat-richard', 'pat-jane', 'pat-emile', 'pat-anon']);
    expect(matches(await h.search('Patient', '_sort=family'))).to.deep.equal(['pat-jane', 'pat-richard', 'pat-emile', 'pat-anon']);
    expect(matches(await h.search('Patient', '_sort=-_lastUpdated')).length).to.equal(4);
  });

  it('_count pages with next/previous links; walking forward and back returns every match once', async () => {
    const first = await h.search('Patient', '_sort=birthdate&_count=1');
    expect(first.total).to.equal(4);
    expect(link(first, 'previous')).to.equal(undefined);
    const seen: string[] = [];
    let page: Bundle = first;
    const pages: Bundle[] = [];
    for (;;) {
      pages.push(page);
      seen.push(...matches(page));
      const next = link(page, 'next');
      if (!next) break;
      page = await h.search('Patient', query(next));
    }
    // ascending: lowest birthdate first, absent last
    expect(seen).to.deep.equal(['pat-richard', 'pat-emile', 'pat-jane', 'pat-anon']);
    const back = await h.search('Patient', query(link(pages[3], 'previous')!));
    expect(matches(back)).to.deep.equal(['pat-jane']);
    expect(link(first, 'self')).to.equal(`${BASE}/Patient?_sort=birthdate&_count=1`);
  });

  it('keyset paging stays stable while data changes: an insert before the cursor does not shift the next page', async () => {
    const first = await h.search('MedicationRequest', '_sort=authoredon&_count=1');
    await h.store.update({ resourceType: 'MedicationRequest', id: 'mr-early', status: 'active', intent: 'order', subject: { reference: 'Patient/pat-anon' }, authoredOn: '2000-01-01' });
    const second = await h.search('MedicationRequest', query(link(first, 'next')!));
    expect(matches(first)).to.deep.equal(['mr-old']);
    expect(matches(second)).to.deep.equal(['mr-amox']);
    await h.store.delete('MedicationRequest', 'mr-early');
  });

  it('_count is capped at the maximum; _count=0 returns only the total', async () => {
    const zero = await h.search('Patient', '_count=0');
    expect(zero.total).to.equal(4);
    expect(matches(zero)).to.deep.equal([]);
    const capped = await h.search('Patient', '_count=100000');
    expect(link(capped, 'self')).to.contain('_count=100000');
  });

  it('_total=none omits the total; estimate gives a number', async () => {
    expect((await h.search('Patient', '_total=none')).total).to.equal(undefined);
    expect((await h.search('Patient', '_total=estimate&_count=1')).total).to.be.a('number');
    expect((await h.search('Patient', '_total=accurate&_count=1')).total).to.equal(4);
  });

  it('_summary=count returns the count only; _summary=true keeps summary elements and marks SUBSETTED', async () => {
    const count = await h.search('Patient', '_summary=count');
    expect(count.total).to.equal(4);
    expect(count.entry).to.deep.equal([]);
    const summary = await h.search('Patient', '_id=pat-jane&_summary=true');
    const patient = summary.entry![0].resource as unknown as Record<string, unknown> & { meta: { tag: { code: string }[] } };
    expect(patient.name).to.not.equal(undefined);
    expect(patient.telecom).to.not.equal(undefined);
    expect(patient.meta.tag.map((t) => t.code)).to.include('SUBSETTED');
    const data = await h.search('CareTeam', '_id=ct-jane&_summary=text');
    expect(Object.keys(data.entry![0].resource!).sort()).to.deep.equal(['id', 'meta', 'resourceType']);
  });

  it('_elements returns only the listed elements (plus id and meta), marked SUBSETTED', async () => {
    const b = await h.search('Patient', '_id=pat-jane&_elements=birthDate,gender');
    expect(Object.keys(b.entry![0].resource!).sort()).to.deep.equal(['birthDate', 'gender', 'id', 'meta', 'resourceType']);
  });

  it('lenient by default: an unknown parameter is ignored, left out of the self link and reported with search.mode=outcome', async () => {
    const b = await h.search('Patient', 'family=smith&colour=blue');
    expect(matches(b).sort()).to.deep.equal(['pat-jane', 'pat-richard']);
    expect(link(b, 'self')).to.equal(`${BASE}/Patient?family=smith`);
    const outcome = b.entry?.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
    expect(outcome.issue[0].expression).to.deep.equal(['colour']);
  });

  it('Prefer: handling=strict turns an unknown or malformed parameter into a 400 naming it', async () => {
    for (const q of ['colour=blue', 'birthdate=yesterday', '_sort=colour', '_count=-1', 'gender:exact=male']) {
      const err = await h.search('Patient', q, true).catch((e: unknown) => e);
      expect(err, q).to.be.instanceOf(FhirError);
      expect((err as FhirError).status).to.equal(400);
      expect((err as FhirError).outcome.issue?.[0].expression?.[0], q).to.equal(q.split('=')[0]);
    }
  });

  it('system search with _type covers several types', async () => {
    const b = await h.search(undefined, '_type=Patient,Organization&_id=pat-jane,org-gp');
    expect(b.entry?.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)).to.deep.equal(['Organization/org-gp', 'Patient/pat-jane']);
    expect(link(b, 'self')).to.equal(`${BASE}?_type=Patient%2COrganization&_id=pat-jane%2Corg-gp`);
    const all = await h.search(undefined, '_lastUpdated=gt2000-01-01&_count=2');
    expect(all.total).to.equal(25);
    const next = await h.search(undefined, query(link(all, 'next')!));
    expect(matches(next)).to.have.length(2);
  });

  it('_total=estimate: a first page holding every match is its own count, and an estimate is never below what the page shows', async () => {
    expect((await h.search('Patient', '_total=estimate')).total).to.equal(4);
    expect((await h.search('Patient', '_total=estimate&_count=2')).total).to.be.at.least(3);
  });

  it('system search whose _type names only unknown types matches nothing (lenient, with the outcome) or is a 400 (strict)', async () => {
    const b = await h.search(undefined, '_type=Foo');
    expect(matches(b)).to.deep.equal([]);
    expect(b.total).to.equal(0);
    expect(b.entry?.some((e) => e.search?.mode === 'outcome')).to.equal(true);
    const err = await h.search(undefined, '_type=Foo', true).catch((e: unknown) => e);
    expect((err as FhirError).status).to.equal(400);
  });
});
