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
});
