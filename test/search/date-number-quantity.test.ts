import { expect } from 'chai';
import { FhirError } from '../../server/errors';
import type { Harness } from './harness.js';
import { loadNeighbourhood, openHarness } from './harness.js';

describe('search: date, number, quantity and composite parameters (https://hl7.org/fhir/R4/search.html#date, #number, #quantity, #composite)', () => {
  let h: Harness;
  before(async () => {
    h = await openHarness();
    await loadNeighbourhood(h);
  });
  after(() => h.db.close());

  it('date eq: "the range of the search value fully contains the range of the target value"', async () => {
    expect(await h.ids('Patient', 'birthdate=2010')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'birthdate=2010-10-22')).to.deep.equal(['pat-jane']);
    // the target 1970-09 is a whole month: a single day does not contain it
    expect(await h.ids('Patient', 'birthdate=1970-09-15')).to.deep.equal([]);
    expect(await h.ids('Patient', 'birthdate=1970')).to.deep.equal(['pat-richard']);
  });

  it('date ne, gt, lt, ge, le over implicit ranges', async () => {
    expect(await h.ids('Patient', 'birthdate=ne2010')).to.deep.equal(['pat-emile', 'pat-richard']);
    expect(await h.ids('Patient', 'birthdate=gt1985')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'birthdate=ge1985')).to.deep.equal(['pat-emile', 'pat-jane']);
    expect(await h.ids('Patient', 'birthdate=lt1985')).to.deep.equal(['pat-richard']);
    expect(await h.ids('Patient', 'birthdate=le1985')).to.deep.equal(['pat-emile', 'pat-richard']);
    expect(await h.ids('Patient', 'birthdate=ge1970-01-01&birthdate=le1990-12-31')).to.deep.equal(['pat-emile', 'pat-richard']);
  });

  it('date: a lower bound after the upper one reads as two bounds, not a window; a Period spanning both matches', async () => {
    // ct-richard-old runs 2019-05-01 to 2021-06-30: it ends after mid-2020 and starts before mid-2019
    expect(await h.ids('CareTeam', 'date=gt2020-06-01&date=lt2019-06-01')).to.deep.equal(['ct-richard-old']);
    expect(await h.ids('Patient', 'birthdate=gt2010&birthdate=lt1985')).to.deep.equal([]);
  });

  it('date sa (starts after) and eb (ends before)', async () => {
    expect(await h.ids('Patient', 'birthdate=sa1985')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'birthdate=eb1985')).to.deep.equal(['pat-richard']);
  });

  it('date ap: approximately, within 10% of the distance to now', async () => {
    expect(await h.ids('Patient', 'birthdate=ap2010-11-01')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'birthdate=ap1950-01-01')).to.deep.equal([]);
  });

  it('date: a Period is a range; an open end extends to infinity', async () => {
    // a period that spans 2020 is not contained in 2020, so eq does not match it
    expect(await h.ids('CareTeam', 'date=2020')).to.deep.equal([]);
    expect(await h.ids('CareTeam', 'date=sa2021-06-30')).to.deep.equal(['ct-jane', 'ct-richard']);
    expect(await h.ids('CareTeam', 'date=eb2021-07-01')).to.deep.equal(['ct-richard-old']);
    expect(await h.ids('CareTeam', 'date=gt2030-01-01')).to.deep.equal(['ct-jane', 'ct-richard']);
    expect(await h.ids('CareTeam', 'date=lt2019-06-01')).to.deep.equal(['ct-richard-old']);
    expect(await h.ids('Observation', 'date=2024-02')).to.deep.equal(['obs-weight']);
  });

  it('dateTime with a time zone and seconds precision', async () => {
    expect(await h.ids('MedicationRequest', 'authoredon=2024-03-01T09:15:00Z')).to.deep.equal(['mr-amox']);
    expect(await h.ids('MedicationRequest', 'authoredon=2024-03-01T10:15:00%2B01:00')).to.deep.equal(['mr-amox']);
    expect(await h.ids('MedicationRequest', 'authoredon=ge2024-01-01')).to.deep.equal(['mr-amox', 'mr-richard']);
  });

  it('number: "the precision of the search value determines the range": 0.3 is [0.25, 0.35)', async () => {
    expect(await h.ids('RiskAssessment', 'probability=0.25')).to.deep.equal(['risk-falls']);
    expect(await h.ids('RiskAssessment', 'probability=0.3')).to.deep.equal(['risk-falls']);
    expect(await h.ids('RiskAssessment', 'probability=0.30')).to.deep.equal([]);
    expect(await h.ids('RiskAssessment', 'probability=gt0.2')).to.deep.equal(['risk-falls', 'risk-range']);
    expect(await h.ids('RiskAssessment', 'probability=lt0.2')).to.deep.equal(['risk-range']);
    expect(await h.ids('RiskAssessment', 'probability=ge0.25&probability=le0.25')).to.deep.equal(['risk-falls', 'risk-range']);
  });

  it('quantity: number|system|code, number||unit and prefixes', async () => {
    expect(await h.ids('Observation', 'value-quantity=72|http://unitsofmeasure.org|/min')).to.deep.equal(['obs-hr']);
    expect(await h.ids('Observation', 'value-quantity=85.5||kg')).to.deep.equal(['obs-weight']);
    expect(await h.ids('Observation', 'value-quantity=gt80')).to.deep.equal(['obs-weight']);
    expect(await h.ids('Observation', 'value-quantity=lt100|http://unitsofmeasure.org|kg')).to.deep.equal(['obs-weight']);
    expect(await h.ids('Observation', 'value-quantity=72|http://unitsofmeasure.org|kg')).to.deep.equal([]);
    expect(await h.ids('Observation', 'value-quantity=ap75')).to.deep.equal(['obs-hr']);
  });

  it('composite: the components must match on the same element', async () => {
    expect(await h.ids('Observation', 'component-code-value-quantity=http://loinc.org|8480-6$gt110')).to.deep.equal(['obs-bp']);
    // diastolic is 80, systolic 120: 8462-4 above 110 must not pair with the systolic value
    expect(await h.ids('Observation', 'component-code-value-quantity=http://loinc.org|8462-4$gt110')).to.deep.equal([]);
    expect(await h.ids('Observation', 'code-value-quantity=http://loinc.org|8867-4$72')).to.deep.equal(['obs-hr']);
  });

  it('malformed dates and numbers are a 400 with the parameter named, even with lenient handling (search.html#errors)', async () => {
    for (const q of ['birthdate=2010-13-01', 'birthdate=xx2010', 'probability=abc']) {
      const err = await h.search(q.startsWith('prob') ? 'RiskAssessment' : 'Patient', q).catch((e: unknown) => e);
      expect(err, q).to.be.instanceOf(FhirError);
      expect((err as FhirError).status, q).to.equal(400);
      expect((err as FhirError).outcome.issue?.[0].expression?.[0], q).to.equal(q.split('=')[0]);
    }
  });
});
