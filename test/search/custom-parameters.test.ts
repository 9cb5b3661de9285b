import { expect } from 'chai';
import type { SearchParameter } from '@medplum/fhirtypes';
import { FhirError } from '../../server/errors.js';
import type { Harness } from './harness.js';
import { loadNeighbourhood, openHarness } from './harness.js';

describe('search: custom SearchParameters', () => {
  let h: Harness;
  before(async () => {
    h = await openHarness();
    await loadNeighbourhood(h);
  });
  after(() => h.db.close());

  it('the shipped CareTeam participant-role finds a patient\'s named care coordinator in one query', async () => {
    const q = 'patient=Patient/pat-richard&status=active&participant-role=http://snomed.info/sct|768820003';
    expect(await h.ids('CareTeam', q)).to.deep.equal(['ct-richard']);
  });

  it('a POSTed SearchParameter becomes searchable and existing resources are re-indexed', async () => {
    const sp: SearchParameter = {
      resourceType: 'SearchParameter',
      url: 'https://neighbourhood.example.org/fhir/SearchParameter/medicationrequest-performer-org',
      name: 'PerformerOrg',
      status: 'active',
      description: 'The dispensing pharmacy',
      code: 'dispensing-pharmacy',
      base: ['MedicationRequest'],
      type: 'reference',
      target: ['Organization'],
      expression: "MedicationRequest.performer.where(resolve() is Organization) | MedicationRequest.performer",
    };
    expect((await h.search('MedicationRequest', 'dispensing-pharmacy=org-pharmacy')).entry?.some((e) => e.search?.mode === 'outcome')).to.equal(true);
    await h.create(sp);
    expect(await h.ids('MedicationRequest', 'dispensing-pharmacy=org-pharmacy')).to.deep.equal(['mr-amox', 'mr-richard']);
    expect(await h.ids('MedicationRequest', 'dispensing-pharmacy.identifier=FA123&status=active')).to.deep.equal(['mr-amox', 'mr-richard']);
  });

  it('a SearchParameter that cannot be indexed is refused and nothing is stored', async () => {
    const bad = { resourceType: 'SearchParameter', url: 'urn:bad', name: 'Bad', status: 'active', description: 'x', code: 'bad', base: ['Patient'], type: 'token', expression: 'Patient.name.(' } as SearchParameter;
    const err = await h.create(bad).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FhirError);
    expect((err as FhirError).outcome.issue?.[0].expression).to.deep.equal(['SearchParameter.expression']);
    expect(await h.ids('SearchParameter', 'url=urn:bad')).to.deep.equal([]);
  });

  const unknown = async (type: string, query: string): Promise<boolean> => !!(await h.search(type, query)).entry?.some((e) => e.search?.mode === 'outcome');
  const pharmacyParam = (code: string): SearchParameter => ({
    resourceType: 'SearchParameter',
    url: `https://neighbourhood.example.org/fhir/SearchParameter/${code}`,
    name: code,
    status: 'active',
    description: 'The dispensing pharmacy',
    code,
    base: ['MedicationRequest'],
    type: 'reference',
    target: ['Organization'],
    expression: 'MedicationRequest.performer',
  });

  it('deleting a SearchParameter unregisters it: the parameter is unknown again and its index rows are gone', async () => {
    const sp = await h.create(pharmacyParam('pharmacy-deleted'));
    expect(await h.ids('MedicationRequest', 'pharmacy-deleted=org-pharmacy')).to.deep.equal(['mr-amox', 'mr-richard']);
    await h.store.delete('SearchParameter', sp.id);
    expect(await unknown('MedicationRequest', 'pharmacy-deleted=org-pharmacy')).to.equal(true);
    const [{ n }] = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM search_reference WHERE param = 'pharmacy-deleted'`);
    expect(n).to.equal(0);
  });

  it('a SearchParameter created in a transaction that rolls back is not left registered', async () => {
    const failed = await h.store
      .transaction(async (tx) => {
        await tx.create(pharmacyParam('pharmacy-rolled-back'));
        throw new Error('a later entry of the transaction failed');
      })
      .catch((e: unknown) => e);
    expect(failed).to.be.instanceOf(Error);
    expect(await unknown('MedicationRequest', 'pharmacy-rolled-back=org-pharmacy')).to.equal(true);
    const r = (await h.search('MedicationRequest', '_id=mr-amox')).entry![0].resource!;
    expect(() => h.engine.matches(r, new URLSearchParams('pharmacy-rolled-back=org-pharmacy'))).to.throw();
  });

  it('a SearchParameter deleted in a transaction that rolls back stays registered', async () => {
    const sp = await h.create(pharmacyParam('pharmacy-kept'));
    await h.store
      .transaction(async (tx) => {
        await tx.delete('SearchParameter', sp.id);
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    expect(await h.ids('MedicationRequest', 'pharmacy-kept=org-pharmacy')).to.deep.equal(['mr-amox', 'mr-richard']);
  });
});
