import { expect } from 'chai';
import type { Harness } from './harness.js';
import { loadNeighbourhood, openHarness } from './harness.js';

describe('search: string and token parameters (https://hl7.org/fhir/R4/search.html#string, #token)', () => {
  let h: Harness;
  before(async () => {
    h = await openHarness();
    await loadNeighbourhood(h);
  });
  after(() => h.db.close());

  it('string: "a field matches a search parameter if the value of the field equals or starts with the supplied value", ignoring case and accents', async () => {
    expect(await h.ids('Patient', 'family=smith')).to.deep.equal(['pat-jane', 'pat-richard']);
    expect(await h.ids('Patient', 'family=ZOELL')).to.deep.equal(['pat-emile']);
    expect(await h.ids('Patient', 'given=emile')).to.deep.equal(['pat-emile']);
    expect(await h.ids('Practitioner', 'name=anstr')).to.deep.equal(['pr-nurse']);
  });

  it('string: name matches any part of a HumanName and address any part of an Address', async () => {
    expect(await h.ids('Patient', 'name=mrs')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'address=ls17')).to.deep.equal(['pat-richard']);
    expect(await h.ids('Patient', 'address-city=leeds')).to.deep.equal(['pat-jane', 'pat-richard']);
  });

  it('string :exact "the search parameter value must match the whole string, including casing and accents"', async () => {
    expect(await h.ids('Patient', 'family:exact=Smith')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'family:exact=smith')).to.deep.equal([]);
    expect(await h.ids('Patient', 'family:exact=Zoëll')).to.deep.equal(['pat-emile']);
    expect(await h.ids('Patient', 'family:exact=Zoell')).to.deep.equal([]);
  });

  it('string :contains "the search parameter value matches anywhere in the field"', async () => {
    expect(await h.ids('Patient', 'family:contains=jon')).to.deep.equal(['pat-richard']);
    expect(await h.ids('Patient', 'family:contains=mit')).to.deep.equal(['pat-jane', 'pat-richard']);
  });

  it('string :contains "matches anywhere in the field" with a trigram index (pg_trgm) to serve it, on PGlite too', async () => {
    // On 600k rows PostgreSQL answers '%abc12%' by a bitmap scan of this index in ~1.5 ms (a scan took ~100 ms); tiny tables are scanned anyway.
    const [index] = await h.db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'search_string_trgm'`);
    expect(index?.indexdef).to.contain('gin').and.to.contain('gin_trgm_ops');
    expect(await h.ids('Patient', 'family:contains=mit')).to.deep.equal(['pat-jane', 'pat-richard']);
  });

  it('token: [system]|[code], |[code], [system]| and [code]', async () => {
    expect(await h.ids('Patient', 'identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'identifier=https://fhir.nhs.uk/Id/nhs-number|')).to.deep.equal(['pat-emile', 'pat-jane', 'pat-richard']);
    expect(await h.ids('Patient', 'gender=|male')).to.deep.equal(['pat-emile', 'pat-richard']);
    expect(await h.ids('Patient', 'identifier=RR8-4471')).to.deep.equal(['pat-jane']);
  });

  it('token on a code element: "the system is the one the binding implies" (gender: http://hl7.org/fhir/administrative-gender)', async () => {
    expect(await h.ids('Patient', 'gender=http://hl7.org/fhir/administrative-gender|male')).to.deep.equal(['pat-emile', 'pat-richard']);
    expect(await h.ids('Patient', 'gender=http://hl7.org/fhir/administrative-gender|')).to.have.length(4);
    expect(await h.ids('Patient', 'gender=http://snomed.info/sct|male')).to.deep.equal([]);
    // |code: "the Coding/Identifier has no system property", and a code element states none of its own
    expect(await h.ids('Patient', 'gender=|male')).to.deep.equal(['pat-emile', 'pat-richard']);
    expect(await h.ids('Patient', 'gender:not=http://hl7.org/fhir/administrative-gender|male')).to.deep.equal(['pat-anon', 'pat-jane']);
    expect(await h.ids('MedicationRequest', 'status=http://hl7.org/fhir/CodeSystem/medicationrequest-status|active')).to.have.length(2);
    const male = (await h.search('Patient', '_id=pat-richard')).entry![0].resource!;
    expect(h.engine.matches(male, new URLSearchParams('gender=http://hl7.org/fhir/administrative-gender|male'))).to.equal(true);
    expect(h.engine.matches(male, new URLSearchParams('gender=http://snomed.info/sct|male'))).to.equal(false);
  });

  it('token: codes are case-sensitive', async () => {
    expect(await h.ids('Patient', 'gender=MALE')).to.deep.equal([]);
  });

  it('token: booleans are tokens true/false', async () => {
    expect(await h.ids('Patient', 'active=false')).to.deep.equal(['pat-emile']);
    expect(await h.ids('Patient', 'deceased=true')).to.deep.equal(['pat-emile']);
  });

  it('token :not "reverses the code matching", including resources without the element', async () => {
    expect(await h.ids('Patient', 'gender:not=male')).to.deep.equal(['pat-anon', 'pat-jane']);
    expect(await h.ids('Patient', 'active:not=true')).to.deep.equal(['pat-anon', 'pat-emile']);
  });

  it('token :text matches the text or display of a CodeableConcept or Coding', async () => {
    expect(await h.ids('MedicationRequest', 'code:text=amoxi')).to.deep.equal(['mr-amox']);
    expect(await h.ids('MedicationRequest', 'code:text=sertraline')).to.deep.equal(['mr-richard']);
    expect(await h.ids('Patient', 'identifier:text=hospital')).to.deep.equal(['pat-jane']);
  });

  it(':missing=true finds resources without the element, :missing=false those with it', async () => {
    expect(await h.ids('Patient', 'birthdate:missing=true')).to.deep.equal(['pat-anon']);
    expect(await h.ids('Patient', 'gender:missing=false')).to.have.length(4);
    expect(await h.ids('Patient', 'family:missing=true')).to.deep.equal(['pat-anon']);
  });

  it('identifier :of-type matches type system|code|value', async () => {
    expect(await h.ids('Patient', 'identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|RR8-4471')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|9000000009')).to.deep.equal([]);
  });

  it(':in and :not-in test the code against a ValueSet held by the server', async () => {
    const vs = 'https://neighbourhood.example.org/fhir/ValueSet/coordinator-roles';
    expect(await h.ids('CareTeam', `participant-role:in=${vs}`)).to.deep.equal(['ct-jane', 'ct-richard', 'ct-richard-old']);
    // gender codes carry the system their binding implies, so the R4 ValueSet's expansion applies
    expect(await h.ids('Patient', 'gender:in=http://hl7.org/fhir/ValueSet/administrative-gender')).to.have.length(4);
    expect(await h.ids('Patient', `gender:in=${vs}`)).to.have.length(0);
    expect(await h.ids('Observation', `code:not-in=${vs}`)).to.have.length(3);
  });

  it('uri :below matches by prefix and :above matches parents', async () => {
    expect(await h.ids('ValueSet', 'url:below=https://neighbourhood.example.org/fhir/ValueSet')).to.deep.equal(['vs-coordinators']);
    expect(await h.ids('ValueSet', 'url=https://neighbourhood.example.org/fhir/ValueSet')).to.deep.equal([]);
    expect(await h.ids('ValueSet', 'url:above=https://neighbourhood.example.org/fhir/ValueSet/coordinator-roles/extra')).to.deep.equal(['vs-coordinators']);
  });

  it('_tag, _profile and _security search meta', async () => {
    expect(await h.ids('Patient', '_tag=urn:neighbourhood:tags|multimorbidity')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', '_profile=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', '_security=N')).to.deep.equal(['pat-jane']);
  });

  it('"comma is OR, repeated parameter is AND"', async () => {
    expect(await h.ids('Patient', 'family=smith,zoell')).to.deep.equal(['pat-emile', 'pat-jane', 'pat-richard']);
    expect(await h.ids('Patient', 'family=smith&gender=male')).to.deep.equal(['pat-richard']);
    expect(await h.ids('Patient', 'given=jane&given=ann')).to.deep.equal(['pat-jane']);
    expect(await h.ids('Patient', 'given=jane&given=richard')).to.deep.equal([]);
  });

  it('an escaped comma \\, is part of the value, not an OR', async () => {
    expect(await h.ids('Patient', 'family=smith\\,zoell')).to.deep.equal([]);
  });
});
