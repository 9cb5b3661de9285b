import { expect } from 'chai';
import type { Bundle, DetectedIssue, Extension, List } from '@medplum/fhirtypes';
import { describeEachDatabase } from '../support/server.js';
import { OLIVE, seedMedicines } from './support.js';

const PRESCRIBER = 'https://fhir.neighbourhood-hub.example/StructureDefinition/medicine-prescriber';
const listOf = (b: Bundle): List => b.entry?.find((e) => e.resource?.resourceType === 'List')?.resource as List;
const issuesOf = (b: Bundle): DetectedIssue[] => (b.entry ?? []).map((e) => e.resource).filter((r): r is DetectedIssue => r?.resourceType === 'DetectedIssue');
const part = (ext: Extension, url: string): Extension | undefined => ext.extension?.find((e) => e.url === url);

describeEachDatabase('Patient/$medications: one list of medicines across prescribers', (server) => {
  let gp: string;
  let pharmacy: string;
  let otherPractice: string;
  before(async () => {
    await seedMedicines(server().running.services.store);
    gp = await server().clientToken({ kind: 'gp-practice', org: 'B84001', scopes: ['system/*.cruds'] });
    pharmacy = await server().clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.cruds'] });
    otherPractice = await server().clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
  });

  it('answers a List coded LOINC 10160-0 with one entry per medicine: the same concept under SNOMED CT and dm+d is one medicine', async () => {
    const res = await server().fhir('GET', `Patient/${OLIVE}/$medications`, { as: gp });
    expect(res.status, res.text).to.equal(200);
    const list = listOf(res.body);
    expect(list.code?.coding?.[0]).to.include({ system: 'http://loinc.org', code: '10160-0' });
    expect(list.subject?.reference).to.equal(`Patient/${OLIVE}`);
    const names = list.entry?.map((e) => e.item.display).sort();
    expect(names).to.deep.equal(['Amlodipine 5mg tablets', 'Co-codamol 30mg/500mg tablets', 'Omeprazole 20mg gastro-resistant capsules', 'Paracetamol 500mg tablets', 'Sertraline 50mg tablets']);
  });

  it('names each prescriber (organisation and practitioner role), the last authorisation and the last dispense', async () => {
    const res = await server().fhir('GET', `Patient/${OLIVE}/$medications`, { as: gp });
    const amlodipine = listOf(res.body).entry?.find((e) => e.item.display === 'Amlodipine 5mg tablets');
    const prescribers = amlodipine?.extension?.filter((e) => e.url === PRESCRIBER) ?? [];
    expect(prescribers.map((p) => part(p, 'organization')?.valueReference?.reference).sort()).to.deep.equal(['Organization/org-high-street-pharmacy', 'Organization/org-riverside-surgery']);
    expect(prescribers.map((p) => part(p, 'practitionerRole')?.valueReference?.reference).sort()).to.deep.equal(['PractitionerRole/role-okafor-gp', 'PractitionerRole/role-shah-pharmacist-prescriber']);
    expect(amlodipine?.date).to.equal('2025-03-04T14:30:00+00:00');
    const dispensed = amlodipine?.extension?.find((e) => e.url.endsWith('/medicine-last-dispensed'));
    expect(part(dispensed!, 'dispense')?.valueReference?.reference).to.equal('MedicationDispense/md-olive-amlodipine');
    expect(part(dispensed!, 'when')?.valueDateTime).to.equal('2025-02-12T16:00:00+00:00');
    const included = (res.body as Bundle).entry?.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
    expect(included).to.include.members(['MedicationRequest/rx-olive-amlodipine-gp', 'PractitionerRole/role-okafor-gp', 'Organization/org-riverside-surgery', 'Medication/med-co-codamol-30-500', 'MedicationDispense/md-olive-amlodipine']);
  });

  it('flags duplicate therapy (DUPTHPY): one medicine from two organisations, and a shared active ingredient', async () => {
    const res = await server().fhir('GET', `Patient/${OLIVE}/$medications`, { as: gp });
    const issues = issuesOf(res.body);
    expect(issues).to.have.length(2);
    for (const i of issues) expect(i.code?.coding?.[0]).to.include({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'DUPTHPY' });
    const same = issues.find((i) => i.implicated?.some((r) => r.reference === 'MedicationRequest/rx-olive-amlodipine-pharmacist'));
    expect(same?.severity).to.equal('high');
    expect(same?.implicated?.map((r) => r.reference).sort()).to.deep.equal(['MedicationRequest/rx-olive-amlodipine-gp', 'MedicationRequest/rx-olive-amlodipine-pharmacist']);
    expect(same?.detail).to.contain('Riverside Surgery').and.contain('High Street Pharmacy').and.contain('Pharmacist prescriber');
    const ingredient = issues.find((i) => i.implicated?.some((r) => r.reference === 'MedicationRequest/rx-olive-co-codamol-mental-health'));
    expect(ingredient?.detail).to.contain('both contain Paracetamol').and.contain('Psychiatrist');
    expect(ingredient?.implicated?.map((r) => r.reference)).to.include('MedicationRequest/rx-olive-paracetamol-gp');
  });

  it('one medicine prescribed twice by one organisation is duplicate therapy of moderate severity', async () => {
    const patient = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Twice' }], generalPractitioner: [{ reference: 'Organization/org-riverside-surgery' }] } });
    for (const role of ['role-okafor-gp', 'role-walker-care-coordinator']) {
      const rx = { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '319283006', display: 'Amlodipine 5mg tablets' }] }, subject: { reference: `Patient/${patient.body.id}` }, requester: { reference: `PractitionerRole/${role}` } };
      expect((await server().fhir('POST', 'MedicationRequest', { body: rx, as: gp })).status).to.equal(201);
    }
    const issues = issuesOf((await server().fhir('GET', `Patient/${patient.body.id}/$medications`, { as: gp })).body);
    expect(issues).to.have.length(1);
    expect(issues[0].severity).to.equal('moderate');
    expect(issues[0].detail).to.contain('prescribed 2 times by one organisation');
  });

  it('flags polypharmacy at 10 medicines, suggesting a structured medication review', async () => {
    const patient = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Many' }], generalPractitioner: [{ reference: 'Organization/org-riverside-surgery' }] } });
    for (let i = 0; i < 10; i++) {
      const rx = { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: `Medicine ${i}` }, subject: { reference: `Patient/${patient.body.id}` }, requester: { reference: 'PractitionerRole/role-okafor-gp' } };
      expect((await server().fhir('POST', 'MedicationRequest', { body: rx, as: gp })).status).to.equal(201);
    }
    const res = await server().fhir('GET', `Patient/${patient.body.id}/$medications`, { as: gp });
    const poly = issuesOf(res.body).find((i) => i.code?.coding?.[0].code === 'polypharmacy');
    expect(poly?.detail).to.contain('10 medicines');
    expect(poly?.mitigation?.[0].action.text).to.equal('Structured medication review');
    expect(poly?.implicated).to.have.length(10);
  });

  it('respects the access policies: a pharmacy sees only the prescriptions addressed to it', async () => {
    const res = await server().fhir('GET', `Patient/${OLIVE}/$medications`, { as: pharmacy });
    expect(res.status, res.text).to.equal(200);
    const names = listOf(res.body).entry?.map((e) => e.item.display).sort();
    expect(names).to.deep.equal(['Amlodipine 5mg tablets', 'Paracetamol 500mg tablets']);
    const refs = (res.body as Bundle).entry?.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
    expect(refs).not.to.include('MedicationRequest/rx-olive-co-codamol-mental-health');
  });

  it('a client whose policy admits no prescriptions (a voluntary organisation) is refused', async () => {
    const voluntary = await server().clientToken({ kind: 'voluntary', org: 'NL0042', scopes: ['system/*.cruds'] });
    const res = await server().fhir('GET', `Patient/${OLIVE}/$medications`, { as: voluntary });
    expect(res.status).to.be.oneOf([403, 404]);
    expect(res.body.resourceType).to.equal('OperationOutcome');
  });

  it('the CapabilityStatement lists $medications on Patient with its OperationDefinition', async () => {
    const res = await server().fhir('GET', 'metadata');
    const patient = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patient.operation).to.deep.include({ name: 'medications', definition: 'https://fhir.neighbourhood-hub.example/OperationDefinition/Patient-medications' });
  });

  it('another practice, with no relationship to the patient, is not told the patient exists', async () => {
    const res = await server().fhir('GET', `Patient/${OLIVE}/$medications`, { as: otherPractice });
    expect(res.status).to.be.oneOf([403, 404]);
  });
});
