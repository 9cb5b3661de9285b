import { expect } from 'chai';
import type { Resource } from '@medplum/fhirtypes';
import { neighbourhoodFixtures, seedNeighbourhood } from '../../server/seed';
import { fixture } from '../support/examples';
import { describeEachDatabase, startTestServer, type TestServer } from '../support/server';

const BASE = 'https://fhir.neighbourhood-hub.example';
const CARE_TEAM_PROFILE = `${BASE}/StructureDefinition/NeighbourhoodCareTeam`;
const invalid = (name: string): Resource => fixture(`validation/neighbourhood/${name}.json`);
const neighbourhood = (file: string): Resource => fixture(`neighbourhood/${file}.json`);

describeEachDatabase('neighbourhood profiles over HTTP', (server) => {
  before(async () => {
    await seedNeighbourhood(server().running.services.store);
  });

  describe('conformance resources are served and searchable', () => {
    it('GET /StructureDefinition?url= finds each profile, at the version it declares', async () => {
      const res = await server().fhir('GET', `StructureDefinition?url=${encodeURIComponent(CARE_TEAM_PROFILE)}&version=0.1.0`);
      expect(res.status).to.equal(200);
      expect(res.body.entry).to.have.length(1);
      expect(res.body.entry[0].resource.snapshot.element.length).to.be.greaterThan(20);
    });
    it('GET /ValueSet/neighbourhood-roles and /CodeSystem/neighbourhood-member-kind read the held resources', async () => {
      expect((await server().fhir('GET', 'ValueSet/neighbourhood-roles')).body.url).to.equal(`${BASE}/ValueSet/neighbourhood-roles`);
      expect((await server().fhir('GET', 'CodeSystem/neighbourhood-member-kind')).body.concept).to.have.length(8);
    });
    it('the CapabilityStatement lists the profiles as supportedProfile of their types', async () => {
      const res = await server().fhir('GET', 'metadata');
      const careTeam = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'CareTeam');
      expect(careTeam.supportedProfile).to.include(CARE_TEAM_PROFILE);
      expect(careTeam.operation.map((o: { name: string }) => o.name)).to.include('validate');
    });
  });

  describe('validation on write', () => {
    it('the seeded neighbourhood reads back: an active care team with its coordinator', async () => {
      const res = await server().fhir('GET', 'CareTeam/ct-margaret-jones');
      expect(res.status).to.equal(200);
      expect(res.body.meta.profile).to.deep.equal([CARE_TEAM_PROFILE]);
    });
    it('a CareTeam claiming NeighbourhoodCareTeam without a coordinator is 422 with the rule in words, and nothing is written', async () => {
      const body = { ...invalid('careteam-without-coordinator'), id: 'ct-no-coordinator' };
      const res = await server().fhir('PUT', 'CareTeam/ct-no-coordinator', { body });
      expect(res.status).to.equal(422);
      expect(res.body.issue[0].diagnostics).to.match(
        /^CareTeam.participant: an active neighbourhood care team needs exactly one current care coordinator \(SNOMED 768820003\); found 0 \(nbh-ct-1\)/,
      );
      expect(res.body.issue[0].expression).to.deep.equal(['CareTeam.participant']);
      expect((await server().fhir('GET', 'CareTeam/ct-no-coordinator')).status).to.equal(404);
    });
    it('a patient claiming an unknown profile is accepted with a warning naming it (Prefer: return=OperationOutcome)', async () => {
      const { id: _id, ...patient } = neighbourhood('05-patient-pat-aisha-khan') as Resource & { id: string };
      const body = { ...patient, meta: { profile: ['https://example.org/StructureDefinition/NoSuchPatient'] } };
      const res = await server().fhir('POST', 'Patient', { body, headers: { prefer: 'return=OperationOutcome' } });
      expect(res.status).to.equal(201);
      const warning = res.body.issue.find((i: { severity: string }) => i.severity === 'warning');
      expect(warning.diagnostics).to.contain('https://example.org/StructureDefinition/NoSuchPatient is not known to this server');
      expect(warning.expression).to.deep.equal(['Patient.meta.profile']);
    });
    it('Patient.gender "bogus" is rejected (a required binding of core R4)', async () => {
      const res = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', gender: 'bogus' } });
      expect(res.status).to.be.oneOf([400, 422]);
      expect(res.body.issue[0].expression[0]).to.equal('Patient.gender');
    });
    it("a CommunityPharmacistPrescription whose requester is a pharmacist without the prescriber role is 422 (business rule)", async () => {
      const res = await server().fhir('POST', 'MedicationRequest', { body: invalid('prescription-requester-not-a-prescriber') });
      expect(res.status).to.equal(422);
      expect(res.body.issue[0].code).to.equal('business-rule');
      expect(res.body.issue[0].diagnostics).to.match(/^MedicationRequest.requester: PractitionerRole\/role-carter-pharmacist does not carry the pharmacist prescriber role \(SNOMED 734294007\)/);
    });
    it('a requester PractitionerRole that does not exist is 422 too', async () => {
      const res = await server().fhir('POST', 'MedicationRequest', { body: invalid('prescription-requester-unknown') });
      expect(res.status).to.equal(422);
      expect(res.body.issue[0].diagnostics).to.contain('PractitionerRole/role-does-not-exist is not a PractitionerRole on this server');
    });
    it('the pharmacist prescriber may prescribe (201)', async () => {
      const { id: _id, ...rx } = neighbourhood('08-medicationrequest-rx-margaret-paracetamol') as Resource & { id: string };
      expect((await server().fhir('POST', 'MedicationRequest', { body: rx })).status).to.equal(201);
    });
    it('a JSON Patch that breaks a claimed profile is 422 and leaves the resource as it was', async () => {
      const res = await server().fhir('PATCH', 'Patient/pat-derek-brown', {
        body: [{ op: 'replace', path: '/identifier/0/value', value: '9990000019' }],
        headers: { 'content-type': 'application/json-patch+json' },
      });
      expect(res.status).to.equal(422);
      expect((await server().fhir('GET', 'Patient/pat-derek-brown')).body.identifier[0].value).to.equal('9990000018');
    });
  });

  describe('$validate (resource-operation-validate.html)', () => {
    it('type level with a bare resource returns 200 and the problems', async () => {
      const res = await server().fhir('POST', 'CareTeam/$validate', { body: invalid('careteam-two-coordinators') });
      expect(res.status).to.equal(200);
      expect(res.body.resourceType).to.equal('OperationOutcome');
      expect(res.body.issue[0].diagnostics).to.match(/found 2/);
    });
    it('a Parameters body with a profile parameter checks a resource that claims none', async () => {
      const { meta: _m, ...careTeam } = invalid('careteam-without-coordinator') as Resource & { meta: unknown };
      const body = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: careTeam }, { name: 'profile', valueUri: CARE_TEAM_PROFILE }] };
      const res = await server().fhir('POST', 'CareTeam/$validate', { body });
      expect(res.body.issue[0].expression).to.deep.equal(['CareTeam.participant']);
      const plain = await server().fhir('POST', 'CareTeam/$validate', { body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: careTeam }] } });
      expect(plain.body.issue).to.deep.equal([{ severity: 'information', code: 'informational', diagnostics: 'No problems found' }]);
    });
    it('mode=create applies the write-time business rule', async () => {
      const rx = invalid('prescription-requester-not-a-prescriber');
      expect((await server().fhir('POST', 'MedicationRequest/$validate', { body: rx })).body.issue[0].severity).to.equal('information');
      const res = await server().fhir('POST', 'MedicationRequest/$validate?mode=create', { body: rx });
      expect(res.body.issue[0].code).to.equal('business-rule');
    });
    it('instance level GET validates the stored resource; mode=delete of an unknown id is 404', async () => {
      const res = await server().fhir('GET', 'Patient/pat-margaret-jones/$validate');
      expect(res.status).to.equal(200);
      expect(res.body.issue[0].severity).to.equal('information');
      expect((await server().fhir('GET', 'Patient/nobody/$validate?mode=delete')).status).to.equal(404);
      expect((await server().fhir('GET', 'Patient/pat-margaret-jones/$validate?mode=delete')).status).to.equal(200);
    });
    it('an unknown profile parameter is reported by name', async () => {
      const res = await server().fhir('POST', `Patient/$validate?profile=${encodeURIComponent(`${BASE}/StructureDefinition/Nope`)}`, { body: neighbourhood('05-patient-pat-aisha-khan') });
      expect(res.body.issue[0].diagnostics).to.contain(`${BASE}/StructureDefinition/Nope is not known`);
    });
  });

  describe('$expand and $validate-code', () => {
    it('$expand of neighbourhood-roles lists the SNOMED CT roles with displays; filter narrows it', async () => {
      const res = await server().fhir('GET', `ValueSet/$expand?url=${encodeURIComponent(`${BASE}/ValueSet/neighbourhood-roles`)}`);
      expect(res.status).to.equal(200);
      expect(res.body.expansion.contains).to.deep.include({ system: 'http://snomed.info/sct', code: '768820003', display: 'Care coordinator' });
      const filtered = await server().fhir('GET', `ValueSet/$expand?url=${encodeURIComponent(`${BASE}/ValueSet/neighbourhood-roles`)}&filter=pharmacist`);
      expect(filtered.body.expansion.contains.map((c: { code: string }) => c.code)).to.deep.equal(['46255001', '734294007']);
    });
    it('instance $expand of a stored ValueSet, and of a core R4 one by url', async () => {
      expect((await server().fhir('GET', 'ValueSet/neighbourhood-member-kind/$expand')).body.expansion.total).to.equal(8);
      const gender = await server().fhir('GET', 'ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender');
      expect(gender.body.expansion.contains.map((c: { code: string }) => c.code)).to.deep.equal(['male', 'female', 'other', 'unknown']);
    });
    it('$validate-code says yes for a member, no with a message otherwise', async () => {
      const url = encodeURIComponent(`${BASE}/ValueSet/neighbourhood-roles`);
      const yes = await server().fhir('GET', `ValueSet/$validate-code?url=${url}&system=http://snomed.info/sct&code=734294007`);
      expect(yes.body.parameter).to.deep.equal([
        { name: 'result', valueBoolean: true },
        { name: 'display', valueString: 'Pharmacist prescriber' },
      ]);
      const no = await server().fhir('POST', 'ValueSet/$validate-code', {
        body: { resourceType: 'Parameters', parameter: [{ name: 'url', valueUri: `${BASE}/ValueSet/neighbourhood-roles` }, { name: 'coding', valueCoding: { system: 'http://snomed.info/sct', code: '309343006' } }] },
      });
      expect(no.body.parameter[0]).to.deep.equal({ name: 'result', valueBoolean: false });
      expect(no.body.parameter[1].valueString).to.contain('309343006 is not in the value set');
    });
    it('$validate-code with a coding that is no Coding is 400', async () => {
      const url = { name: 'url', valueUri: `${BASE}/ValueSet/neighbourhood-roles` };
      for (const parameter of [{ name: 'codeableConcept', valueCodeableConcept: { coding: [null] } }, { name: 'codeableConcept', valueCodeableConcept: { coding: [{ code: 5 }] } }, { name: 'coding', valueCoding: 'x' }]) {
        const res = await server().fhir('POST', 'ValueSet/$validate-code', { body: { resourceType: 'Parameters', parameter: [url, parameter] } });
        expect(res.status, JSON.stringify(parameter)).to.equal(400);
        expect(res.body.resourceType).to.equal('OperationOutcome');
      }
    });
    it('$expand of an inline ValueSet FHIR would not accept, or with an offset beyond an integer, is 400', async () => {
      const inline = (valueSet: Record<string, unknown>) => ({ resourceType: 'Parameters', parameter: [{ name: 'valueSet', resource: { resourceType: 'ValueSet', status: 'active', ...valueSet } }] });
      const good = { compose: { include: [{ system: 'http://example.org/cs', concept: [{ code: 'a' }] }] } };
      expect((await server().fhir('POST', 'ValueSet/$expand', { body: inline(good) })).status).to.equal(200);
      for (const bad of [{ ...good, status: 'bogus' }, { compose: { include: [{ system: 'http://example.org/cs', concept: [{ code: 5 }] }] } }]) {
        expect((await server().fhir('POST', 'ValueSet/$expand', { body: inline(bad) })).status, JSON.stringify(bad)).to.equal(400);
      }
      expect((await server().fhir('GET', `ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender&offset=1e300`)).status).to.equal(400);
    });
    it('an unknown value set is 404', async () => {
      expect((await server().fhir('GET', 'ValueSet/$expand?url=https://example.org/nope')).status).to.equal(404);
    });
  });
});

describe('REQUIRED_PROFILES', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite', { requiredProfiles: { CareTeam: [CARE_TEAM_PROFILE] } });
    await seedNeighbourhood(server.running.services.store);
  });
  after(() => server?.stop());

  it('a CareTeam claiming no profile must still conform to the required one (422 with the rule)', async () => {
    const { meta: _m, ...careTeam } = invalid('careteam-without-coordinator') as Resource & { meta: unknown };
    const res = await server.fhir('POST', 'CareTeam', { body: careTeam });
    expect(res.status).to.equal(422);
    expect(res.body.issue[0].expression).to.deep.equal(['CareTeam.participant']);
  });
  it('$validate in a write mode holds the resource to the required profile too; without a mode it does not', async () => {
    const { meta: _m, ...careTeam } = invalid('careteam-without-coordinator') as Resource & { meta: unknown };
    const asCreate = await server.fhir('POST', 'CareTeam/$validate?mode=create', { body: careTeam });
    expect(asCreate.status).to.equal(200);
    const errors = asCreate.body.issue.filter((i: { severity: string }) => i.severity === 'error');
    expect(errors.map((i: { expression?: string[] }) => i.expression)).to.deep.include(['CareTeam.participant']);
    const plain = await server.fhir('POST', 'CareTeam/$validate', { body: careTeam });
    expect(plain.body.issue.filter((i: { severity: string }) => i.severity === 'error')).to.deep.equal([]);
  });
  it('a conforming CareTeam without meta.profile is accepted', async () => {
    const { meta: _m, id: _id, ...careTeam } = neighbourhood('07-careteam-ct-aisha-khan') as Resource & { meta: unknown };
    expect((await server.fhir('POST', 'CareTeam', { body: careTeam })).status).to.equal(201);
  });
  it('other types are not held to it', async () => {
    expect((await server.fhir('POST', 'Patient', { body: { resourceType: 'Patient', gender: 'male' } })).status).to.equal(201);
  });
  it('a required profile the server does not hold stops the start', async () => {
    let error: unknown;
    try {
      await (await startTestServer('pglite', { requiredProfiles: { CareTeam: ['https://example.org/nope'] } })).stop();
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.contain('REQUIRED_PROFILES: CareTeam=https://example.org/nope');
  });
  it('seeding twice writes no new versions', async () => {
    expect(neighbourhoodFixtures().length).to.be.greaterThan(40);
    await seedNeighbourhood(server.running.services.store);
    expect((await server.fhir('GET', 'CareTeam/ct-margaret-jones')).body.meta.versionId).to.equal('1');
  });
});
