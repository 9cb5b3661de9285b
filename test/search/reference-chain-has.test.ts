import { expect } from 'chai';
import type { Harness } from './harness.js';
import { BASE, loadNeighbourhood, openHarness } from './harness.js';

describe('search: references, chaining and _has (https://hl7.org/fhir/R4/search.html#reference, #chaining, #has)', () => {
  let h: Harness;
  before(async () => {
    h = await openHarness();
    await loadNeighbourhood(h);
  });
  after(() => h.db.close());

  it('reference: Type/id, bare id, absolute URL on this server and :Type', async () => {
    expect(await h.ids('MedicationRequest', 'subject=Patient/pat-jane')).to.deep.equal(['mr-amox', 'mr-old']);
    expect(await h.ids('MedicationRequest', 'subject=pat-jane')).to.deep.equal(['mr-amox', 'mr-old']);
    expect(await h.ids('MedicationRequest', `subject=${BASE}/Patient/pat-jane`)).to.deep.equal(['mr-amox', 'mr-old']);
    expect(await h.ids('CareTeam', 'participant:Practitioner=pr-nurse')).to.deep.equal(['ct-richard', 'ct-richard-old']);
    expect(await h.ids('CareTeam', 'participant:Organization=pr-nurse')).to.deep.equal([]);
  });

  it('reference :identifier matches Reference.identifier', async () => {
    await h.store.update({ resourceType: 'MedicationRequest', id: 'mr-logical', status: 'active', intent: 'order', subject: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' } } });
    expect(await h.ids('MedicationRequest', 'subject:identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009')).to.deep.equal(['mr-logical']);
    await h.store.delete('MedicationRequest', 'mr-logical');
  });

  it('chaining: subject:Patient.identifier=NHS number', async () => {
    expect(await h.ids('MedicationRequest', 'subject:Patient.identifier=https://fhir.nhs.uk/Id/nhs-number|9000000017')).to.deep.equal(['mr-richard']);
    expect(await h.ids('MedicationRequest', 'patient.family=smith-j')).to.deep.equal(['mr-richard']);
  });

  it('chaining to depth two across several target types: participant.organization.identifier', async () => {
    // CareTeam.participant -> PractitionerRole.organization -> Organization.identifier
    expect(await h.ids('CareTeam', 'participant:PractitionerRole.organization.identifier=B82005')).to.deep.equal(['ct-jane']);
    // without a type the chain goes through every target type that has an `organization` parameter (PractitionerRole, Patient)
    expect(await h.ids('CareTeam', 'participant.organization.identifier=B82005')).to.deep.equal(['ct-jane']);
  });

  it('chaining to depth three', async () => {
    expect(await h.ids('MedicationRequest', 'subject:Patient.organization.name=white')).to.deep.equal(['mr-amox', 'mr-old']);
    expect(await h.ids('Observation', 'subject:Patient.general-practitioner:Organization.identifier=B82005')).to.deep.equal(['obs-bp', 'obs-hr']);
  });

  it('_has: patients with an active prescription from a pharmacist', async () => {
    expect(await h.ids('Patient', '_has:MedicationRequest:subject:status=active')).to.deep.equal(['pat-jane', 'pat-richard']);
    expect(await h.ids('Patient', '_has:MedicationRequest:subject:requester=Practitioner/pr-gp')).to.deep.equal(['pat-jane']);
  });

  it('_has reaching AuditEvents, kept in the audit trail and not among the resources, is refused however lenient the search', async () => {
    let refused: unknown;
    await h.ids('Patient', '_has:CareTeam:patient:_has:AuditEvent:entity:agent=x').catch((err: unknown) => (refused = err));
    expect((refused as { status?: number } | undefined)?.status).to.equal(400);
  });

  it('_has nested: practitioners whose role is on an active care team', async () => {
    expect(await h.ids('Practitioner', '_has:PractitionerRole:practitioner:_has:CareTeam:participant:status=active')).to.deep.equal(['pr-gp']);
    expect(await h.ids('Organization', '_has:PractitionerRole:organization:_has:CareTeam:participant:status=active')).to.deep.equal(['org-gp']);
  });

  it('compartment search: Patient/pat-jane/CareTeam uses the R4 Patient CompartmentDefinition', async () => {
    const bundle = await h.engine.search({ sql: h.db, baseUrl: BASE, strict: false }, 'CareTeam', new URLSearchParams(''), { resourceType: 'Patient', id: 'pat-jane' });
    expect(bundle.entry?.map((e) => e.resource?.id)).to.deep.equal(['ct-jane']);
    const all = await h.engine.search({ sql: h.db, baseUrl: BASE, strict: false }, undefined, new URLSearchParams('_count=100'), { resourceType: 'Patient', id: 'pat-richard' });
    expect(all.entry?.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`).sort()).to.deep.equal([
      'CareTeam/ct-richard', 'CareTeam/ct-richard-old', 'MedicationRequest/mr-richard', 'Observation/obs-weight', 'Patient/pat-richard', 'RiskAssessment/risk-range',
    ]);
    expect(bundle.link?.find((l) => l.relation === 'self')?.url).to.equal(`${BASE}/Patient/pat-jane/CareTeam?`);
  });
});
