import { expect } from 'chai';
import type { Patient } from '@medplum/fhirtypes';
import { FhirError } from '../../server/errors.js';
import { sharedExample } from '../support/examples.js';
import type { Harness } from './harness.js';
import { openHarness } from './harness.js';

describe('search: identifiers, ids and lastUpdated for conditional interactions', () => {
  let h: Harness;
  let jane: Patient & { id: string };
  let richard: Patient & { id: string };

  before(async () => {
    h = await openHarness();
    jane = await h.create(sharedExample<Patient>('pds/patient-9000000009.json'));
    richard = await h.create(sharedExample<Patient>('ukcore/UKCore-Patient-RichardSmith-Example.json'));
  });
  after(() => h.db.close());

  it('identifier=system|value matches the NHS number exactly', async () => {
    expect(await h.engine.matchIds(h.db, 'Patient', new URLSearchParams('identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009'), 2)).to.deep.equal([jane.id]);
  });

  it('identifier=value matches any system; |value matches only identifiers without a system', async () => {
    expect(await h.ids('Patient', 'identifier=9000000009')).to.deep.equal([jane.id]);
    expect(await h.ids('Patient', 'identifier=|9000000009')).to.deep.equal([]);
  });

  it('_id matches the logical id; comma is OR', async () => {
    expect(await h.ids('Patient', `_id=${jane.id},${richard.id}`)).to.deep.equal([jane.id, richard.id].sort());
  });

  it('_lastUpdated=gt<before the writes> matches both; lt matches none', async () => {
    expect(await h.ids('Patient', '_lastUpdated=gt2000-01-01')).to.have.length(2);
    expect(await h.ids('Patient', '_lastUpdated=lt2000-01-01')).to.deep.equal([]);
  });

  it('an update re-indexes: the old identifier no longer matches', async () => {
    const changed = { ...jane, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000017' }] };
    await h.store.update(changed);
    expect(await h.ids('Patient', 'identifier=9000000009')).to.deep.equal([]);
    expect(await h.ids('Patient', 'identifier=9000000017')).to.deep.equal([jane.id]);
    await h.store.update(jane);
  });

  it('a delete removes the resource from every search', async () => {
    const temp = await h.create<Patient>({ resourceType: 'Patient', identifier: [{ system: 'urn:t', value: 'gone' }] });
    await h.store.delete('Patient', temp.id);
    expect(await h.ids('Patient', 'identifier=urn:t|gone')).to.deep.equal([]);
  });

  it('malformed conditional criteria are a 400 naming the parameter', async () => {
    for (const criteria of ['birthdate=notadate', 'birthdate=2023-02-29', 'birthdate=ge2024-04-31T10:00:00Z', 'no-such-param=1', 'family:nonsense=x']) {
      const err = await h.engine.matchIds(h.db, 'Patient', new URLSearchParams(criteria), 2).catch((e: unknown) => e);
      expect(err, criteria).to.be.instanceOf(FhirError);
      expect((err as FhirError).status).to.equal(400);
      expect((err as FhirError).outcome.issue?.[0].expression?.[0]).to.equal(criteria.split('=')[0]);
    }
  });

  it('family, birthdate and gender: the core demographics', async () => {
    expect(await h.ids('Patient', 'family=smi&gender=female')).to.deep.equal([jane.id]);
    expect(await h.ids('Patient', 'birthdate=1970-09')).to.deep.equal([richard.id]);
  });
});
