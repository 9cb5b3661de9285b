import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { fixture, SHARED_EXAMPLES, sharedExample } from '../support/examples';
import { describeEachDatabase, startTestServer, type TestServer } from '../support/server';

const UK_CORE = 'https://fhir.hl7.org.uk/StructureDefinition';
const broken = (name: string): Resource => fixture(`validation/ukcore/${name}.json`);

/** A UK Core example as JSON R4 allows it (the XML conversion left `fhir_comments`), claiming its UK Core profile. */
function claimingItsProfile(file: string): Resource {
  const example = JSON.parse(JSON.stringify(sharedExample(`ukcore/${file}`), (k, v) => (k === 'fhir_comments' ? undefined : v))) as Resource;
  return { ...example, meta: { profile: [`${UK_CORE}/UKCore-${example.resourceType}`] } };
}

describeEachDatabase('UK Core profiles (FHIR package loaded by default)', (server) => {
  describe('served as conformance resources', () => {
    it('GET /StructureDefinition/UKCore-Patient, /ValueSet and /CodeSystem read the package resources', async () => {
      const sd = await server().fhir('GET', 'StructureDefinition/UKCore-Patient');
      expect(sd.status).to.equal(200);
      expect(sd.body.url).to.equal(`${UK_CORE}/UKCore-Patient`);
      const vs = await server().fhir('GET', `ValueSet?url=${encodeURIComponent('https://fhir.hl7.org.uk/ValueSet/UKCore-NHSNumberVerificationStatus')}`);
      expect(vs.body.entry).to.have.length(1);
      expect((await server().fhir('GET', 'CodeSystem/UKCore-NHSNumberVerificationStatusEngland')).status).to.equal(200);
    });
    it('the CapabilityStatement lists UK Core profiles as supportedProfile of their types', async () => {
      const res = await server().fhir('GET', 'metadata');
      const patient = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
      expect(patient.supportedProfile).to.include(`${UK_CORE}/UKCore-Patient`);
      expect(patient.supportedProfile).to.include('https://fhir.neighbourhood-hub.example/StructureDefinition/NeighbourhoodPatient');
    });
    it('NeighbourhoodPatient derives from UKCore-Patient', async () => {
      const res = await server().fhir('GET', 'StructureDefinition/NeighbourhoodPatient');
      expect(res.body.baseDefinition).to.equal(`${UK_CORE}/UKCore-Patient`);
    });
  });

  describe('examples claiming their UK Core profile', () => {
    const files = readdirSync(path.join(SHARED_EXAMPLES, 'ukcore')).filter((f) => f.endsWith('.json'));
    for (const file of files) {
      it(`${file} is accepted (201)`, async () => {
        const { id: _id, ...example } = claimingItsProfile(file);
        const res = await server().fhir('POST', example.resourceType, { body: example });
        expect(res.status, JSON.stringify(res.body.issue)).to.equal(201);
      });
    }
    it('a valid UKCore-Observation-VitalSigns-HeartRate is accepted', async () => {
      const res = await server().fhir('PUT', 'Observation/ukcore-heart-rate', { body: broken('observation-heart-rate') });
      expect(res.status, JSON.stringify(res.body.issue)).to.equal(201);
    });
  });

  describe('each broken against one UK Core rule is refused naming the element, and nothing is written', () => {
    const cases: [string, string, RegExp][] = [
      ['patient-ethnic-category-as-string', 'Patient.extension[0].value', /ExtensionUKCoreEthnicCategory allows only CodeableConcept here, not string/],
      ['patient-two-ethnic-categories', 'Patient.extension', /UKCorePatient needs 0 to 1 .*slice 'ethnicCategory'.*found 2/],
      ['patient-nhs-number-without-value', 'Patient.identifier[0].value', /required by UKCorePatient, but missing/],
      ['patient-verification-status-unknown-code', 'Patient.identifier[0].extension[0].value', /UKCore-NHSNumberVerificationStatusEngland\|99 is in the required value set/],
      ['observation-heart-rate-in-beats', 'Observation.value.code', /must be "\/min" in UKCoreObservationVitalSignsHeartRate; found "beats"/],
      ['observation-heart-rate-without-loinc', 'Observation', /ukcore-obs-vs-001/],
      ['immunization-not-done-without-reason', 'Immunization', /ukcore-imm-001/],
      ['neighbourhood-patient-two-ethnic-categories', 'Patient.extension', /UKCorePatient needs 0 to 1 .*slice 'ethnicCategory'/],
      ['patient-ethnic-category-on-name', 'Patient.name[0].extension[0]', /Extension-UKCore-EthnicCategory may be used on Patient, not on Patient\.name/],
    ];
    for (const [name, expression, diagnostics] of cases) {
      it(`${name}: 422 at ${expression}`, async () => {
        const resource = broken(name) as Resource & { id: string };
        const res = await server().fhir('PUT', `${resource.resourceType}/${resource.id}`, { body: resource });
        expect(res.status, JSON.stringify(res.body)).to.equal(422);
        const found = res.body.issue.find((i: { expression?: string[] }) => i.expression?.[0] === expression);
        expect(found, JSON.stringify(res.body.issue)).to.exist;
        expect(found.diagnostics).to.match(diagnostics);
        expect((await server().fhir('GET', `${resource.resourceType}/${resource.id}`)).status).to.equal(404);
      });
    }
  });

  describe('what is not checked is said, not refused', () => {
    it('a required binding the hub cannot expand (all-languages, BCP-47) is an information issue of $validate', async () => {
      const patient = claimingItsProfile('UKCore-Patient-RichardSmith-Example.json');
      const res = await server().fhir('POST', 'Patient/$validate', { body: patient });
      expect(res.status).to.equal(200);
      const note = res.body.issue.find((i: { severity: string }) => i.severity === 'information');
      expect(note.expression).to.deep.equal(['Patient.communication[0].language']);
      expect(note.diagnostics).to.contain('http://hl7.org/fhir/ValueSet/all-languages').and.contain('cannot expand');
      expect(res.body.issue.filter((i: { severity: string }) => i.severity === 'error')).to.deep.equal([]);
    });
    it('a PDS record with an extension out of its UK Core context (OtherContactSystem on telecom) claims no profile: accepted, $validate warns', async () => {
      const { id: _id, ...pds } = sharedExample<Resource>('pds/patient.json') as Resource & { id: string };
      expect((await server().fhir('POST', 'Patient', { body: pds })).status).to.equal(201);
      const res = await server().fhir('POST', 'Patient/$validate', { body: pds });
      const warning = res.body.issue.find((i: { severity: string }) => i.severity === 'warning');
      expect(warning.diagnostics).to.contain('Extension-UKCore-OtherContactSystem may be used on ContactPoint.system, not on Patient.telecom');
    });
    it('a claim to a profile the hub does not hold is accepted, and $validate names it as a warning', async () => {
      const body = { resourceType: 'Patient', meta: { profile: ['https://example.org/StructureDefinition/Elsewhere'] }, gender: 'female' };
      expect((await server().fhir('POST', 'Patient', { body })).status).to.equal(201);
      const res = await server().fhir('POST', 'Patient/$validate', { body });
      expect(res.body.issue).to.have.length(1);
      expect(res.body.issue[0]).to.include({ severity: 'warning', code: 'not-supported' });
      expect(res.body.issue[0].diagnostics).to.contain('https://example.org/StructureDefinition/Elsewhere is not known to this server');
    });
  });
});

describe('UNKNOWN_PROFILES=reject', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite', { unknownProfiles: 'reject' });
  });
  after(() => server?.stop());

  it('a claim to a profile the hub does not hold is 422 naming it, and nothing is written', async () => {
    const body = { resourceType: 'Patient', id: 'elsewhere', meta: { profile: ['https://example.org/StructureDefinition/Elsewhere'] } };
    const res = await server.fhir('PUT', 'Patient/elsewhere', { body });
    expect(res.status).to.equal(422);
    expect(res.body.issue[0].expression).to.deep.equal(['Patient.meta.profile']);
    expect(res.body.issue[0].diagnostics).to.contain('https://example.org/StructureDefinition/Elsewhere is not known to this server');
    expect((await server.fhir('GET', 'Patient/elsewhere')).status).to.equal(404);
  });
  it('UK Core profiles are still known', async () => {
    const { id: _id, ...patient } = claimingItsProfile('UKCore-Patient-RichardSmith-Example.json');
    expect((await server.fhir('POST', 'Patient', { body: patient })).status).to.equal(201);
  });
});

describe('FHIR_PACKAGES', function () {
  this.timeout(60_000);
  const PROFILE = 'https://example.org/fhir/StructureDefinition/ClinicPatient';

  /** A package as a .tgz: package/package.json and one profile deriving from UKCore-Patient that requires a birth date. */
  function packageTgz(profile: Record<string, unknown>): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'fhir-package-'));
    mkdirSync(path.join(dir, 'package'));
    writeFileSync(path.join(dir, 'package', 'package.json'), JSON.stringify({ name: 'example.clinic', version: '1.0.0', fhirVersions: ['4.0.1'] }));
    writeFileSync(path.join(dir, 'package', 'StructureDefinition-ClinicPatient.json'), JSON.stringify(profile));
    execFileSync('tar', ['-czf', path.join(dir, 'example.clinic.tgz'), '-C', dir, 'package']);
    return path.join(dir, 'example.clinic.tgz');
  }
  const clinicPatient = (differential: unknown[]): Record<string, unknown> => ({
    resourceType: 'StructureDefinition',
    id: 'ClinicPatient',
    url: PROFILE,
    name: 'ClinicPatient',
    status: 'draft',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: `${UK_CORE}/UKCore-Patient`,
    derivation: 'constraint',
    differential: { element: differential },
  });

  it("a package's profile is served, listed and enforced, with the UK Core rules it derives", async () => {
    const tgz = packageTgz(clinicPatient([{ id: 'Patient', path: 'Patient' }, { id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 }]));
    const server = await startTestServer('pglite', { fhirPackages: [tgz] });
    try {
      expect((await server.fhir('GET', 'StructureDefinition/ClinicPatient')).body.url).to.equal(PROFILE);
      const metadata = await server.fhir('GET', 'metadata');
      expect(metadata.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient').supportedProfile).to.include(PROFILE);
      const without = await server.fhir('POST', 'Patient', { body: { resourceType: 'Patient', meta: { profile: [PROFILE] } } });
      expect(without.status).to.equal(422);
      expect(without.body.issue[0].expression).to.deep.equal(['Patient.birthDate']);
      const twoEthnic = { ...(broken('patient-two-ethnic-categories') as Resource), id: undefined, meta: { profile: [PROFILE] } };
      expect((await server.fhir('POST', 'Patient', { body: twoEthnic })).status).to.equal(422);
      expect((await server.fhir('POST', 'Patient', { body: { resourceType: 'Patient', birthDate: '1970-01-01', meta: { profile: [PROFILE] } } })).status).to.equal(201);
    } finally {
      await server.stop();
    }
  });

  it('a package that cannot be loaded stops the start with a message naming the file', async () => {
    const tgz = packageTgz(clinicPatient([{ id: 'Patient', path: 'Patient' }, { id: 'Patient.birthDate', path: 'Patient.birthDate', max: '2' }]));
    let error: unknown;
    try {
      await (await startTestServer('pglite', { fhirPackages: [tgz] })).stop();
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.contain(tgz).and.contain('package/StructureDefinition-ClinicPatient.json').and.contain('max 2 is above the base max 1');
  });

  it('a folder holding package/ loads the same way; a missing one is named', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'fhir-package-folder-'));
    cpSync(path.join(__dirname, '..', '..', 'profiles', 'packages', 'uk-core'), folder, { recursive: true });
    let error: unknown;
    try {
      await (await startTestServer('pglite', { fhirPackages: [folder, path.join(folder, 'missing.tgz')] })).stop();
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.contain(`${path.join(folder, 'missing.tgz')}: no such file or folder`);
  });
});
