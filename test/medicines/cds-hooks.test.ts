import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { MedicationRequest } from '@medplum/fhirtypes';
import { describeEachDatabase, type TestServer } from '../support/server.js';
import { OLIVE, seedMedicines } from './support.js';

const SERVICE = 'cds-services/neighbourhood-medicines';

async function cds(server: TestServer, method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${server.running.url}/${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const draft = (id: string, medication: Partial<MedicationRequest>, patient = OLIVE): MedicationRequest => ({
  resourceType: 'MedicationRequest',
  id,
  status: 'draft',
  intent: 'order',
  subject: { reference: `Patient/${patient}` },
  ...medication,
});
const amlodipineDmd = { medicationCodeableConcept: { coding: [{ system: 'https://dmd.nhs.uk', code: '319283006', display: 'Amlodipine 5mg tablets' }] } };
const sertraline = { medicationCodeableConcept: { text: 'Sertraline 50mg tablets' } };
const hook = (name: string, drafts: MedicationRequest[], extra: Record<string, unknown> = {}, patient = OLIVE): Record<string, unknown> => ({
  hook: name,
  hookInstance: randomUUID(),
  context: { userId: 'PractitionerRole/role-lee-psychiatrist', patientId: patient, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: drafts.map((resource) => ({ resource })) }, ...extra },
});

describeEachDatabase('CDS Hooks 2.0: neighbourhood-medicines at the point of prescribing', (server) => {
  let mentalHealth: string;
  let gp: string;
  let pharmacy: string;
  let otherPractice: string;
  before(async () => {
    await seedMedicines(server().running.services.store);
    mentalHealth = await server().clientToken({ kind: 'care-provider', org: 'RGD01', scopes: ['system/*.cruds'] });
    gp = await server().clientToken({ kind: 'gp-practice', org: 'B84001', scopes: ['system/*.cruds'] });
    pharmacy = await server().clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.cruds'] });
    otherPractice = await server().clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
  });

  it('discovery lists neighbourhood-medicines for order-select and order-sign, with prefetch templates', async () => {
    const res = await cds(server(), 'GET', 'cds-services', gp);
    expect(res.status).to.equal(200);
    const services = res.body.services.filter((s: { id: string }) => s.id === 'neighbourhood-medicines');
    expect(services.map((s: { hook: string }) => s.hook).sort()).to.deep.equal(['order-select', 'order-sign']);
    for (const s of services) {
      expect(s.description).to.be.a('string').and.not.be.empty;
      expect(s.prefetch.patient).to.equal('Patient/{{context.patientId}}');
      expect(s.prefetch.medications).to.contain('{{context.patientId}}');
    }
  });

  it('order-sign: a draft duplicating a medicine another prescriber has active gets a warning card naming who, when and how to reach them, suggesting removal', async () => {
    const res = await cds(server(), 'POST', SERVICE, mentalHealth, hook('order-sign', [draft('draft-amlodipine', amlodipineDmd)]));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.cards).to.have.length(1);
    const card = res.body.cards[0];
    expect(card.indicator).to.equal('warning');
    expect(card.summary.length).to.be.below(140);
    expect(card.summary).to.equal('Amlodipine 5mg tablets is already prescribed by High Street Pharmacy and Riverside Surgery');
    expect(card.source.label).to.be.a('string').and.not.be.empty;
    expect(card.detail).to.contain('Riverside Surgery').and.contain('authorised 2025-02-10').and.contain('High Street Pharmacy').and.contain('authorised 2025-03-04');
    expect(card.detail).to.contain('Care team member (General practitioner)').and.contain('0113 496 0001');
    expect(card.detail).to.contain('Care coordinator:');
    expect(card.selectionBehavior).to.equal('at-most-one');
    expect(card.suggestions).to.have.length(1);
    expect(card.suggestions[0].actions).to.deep.equal([{ type: 'delete', description: 'Remove the draft order for Amlodipine 5mg tablets', resourceId: 'MedicationRequest/draft-amlodipine' }]);
    expect(card.overrideReasons.every((r: { display?: string }) => !!r.display)).to.equal(true);
    expect(card.uuid).to.match(/^[0-9a-f-]{36}$/);
  });

  it('order-select: an active-ingredient duplicate (a contained Medication) warns; drafts not selected are not checked', async () => {
    const coCodamol = draft('draft-co-codamol', {
      contained: [{ resourceType: 'Medication', id: 'cc', code: { text: 'Co-codamol 8mg/500mg tablets' }, ingredient: [{ itemCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '387517004', display: 'Paracetamol' }] }, isActive: true }] }],
      medicationReference: { reference: '#cc' },
    });
    const res = await cds(server(), 'POST', SERVICE, gp, hook('order-select', [coCodamol, draft('draft-amlodipine', amlodipineDmd)], { selections: ['MedicationRequest/draft-co-codamol'] }));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.cards).to.have.length(1);
    expect(res.body.cards[0].summary).to.match(/^Co-codamol 8mg\/500mg tablets contains Paracetamol, already prescribed by North Leeds Community Mental Health Team/);
    expect(res.body.cards[0].summary.length).to.be.below(140);
    expect(res.body.cards[0].detail).to.contain('Paracetamol 500mg tablets').and.contain('Co-codamol 30mg/500mg tablets');
    expect(res.body.cards[0].detail).to.contain('shares the active ingredient Paracetamol');
    expect(res.body.cards[0].detail).to.contain('Psychiatrist');
    expect(res.body.cards[0].suggestions[0].actions[0].resourceId).to.equal('MedicationRequest/draft-co-codamol');
  });

  it('no cards when nothing is wrong: {"cards": []}', async () => {
    const res = await cds(server(), 'POST', SERVICE, gp, hook('order-sign', [draft('draft-atorvastatin', { medicationCodeableConcept: { text: 'Atorvastatin 20mg tablets' } })]));
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ cards: [] });
  });

  it('an info card for polypharmacy when the draft makes 10 medicines', async () => {
    const patient = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Nine' }], generalPractitioner: [{ reference: 'Organization/org-riverside-surgery' }] } });
    for (let i = 0; i < 9; i++) {
      const rx = { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: `Medicine ${i}` }, subject: { reference: `Patient/${patient.body.id}` }, requester: { reference: 'PractitionerRole/role-okafor-gp' } };
      expect((await server().fhir('POST', 'MedicationRequest', { body: rx, as: gp })).status).to.equal(201);
    }
    const res = await cds(server(), 'POST', SERVICE, gp, hook('order-sign', [draft('draft-tenth', { medicationCodeableConcept: { text: 'Medicine 10' } }, patient.body.id)], {}, patient.body.id));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.cards.map((c: { indicator: string }) => c.indicator)).to.deep.equal(['info']);
    expect(res.body.cards[0].summary).to.contain('10 medicines').and.contain('structured medication review');
  });

  it('answers only from what the caller may see: a pharmacy is not warned of a prescription addressed elsewhere; the GP is', async () => {
    const asPharmacy = await cds(server(), 'POST', SERVICE, pharmacy, hook('order-sign', [draft('draft-sertraline', sertraline)]));
    expect(asPharmacy.status, JSON.stringify(asPharmacy.body)).to.equal(200);
    expect(asPharmacy.body.cards).to.deep.equal([]);
    const asGp = await cds(server(), 'POST', SERVICE, gp, hook('order-sign', [draft('draft-sertraline', sertraline)]));
    expect(asGp.body.cards).to.have.length(1);
    expect(asGp.body.cards[0].detail).to.contain('North Leeds Community Mental Health Team');
  });

  it('a practice with no relationship to the patient gets 404; no token gets 401', async () => {
    expect((await cds(server(), 'POST', SERVICE, otherPractice, hook('order-sign', [draft('d1', sertraline)]))).status).to.equal(404);
    expect((await cds(server(), 'POST', SERVICE, null, hook('order-sign', [draft('d1', sertraline)]))).status).to.equal(401);
    expect((await cds(server(), 'GET', 'cds-services', null)).status).to.equal(401);
  });

  it('a malformed hook request is a 400 naming the problem', async () => {
    const noPatient = hook('order-sign', []);
    delete (noPatient.context as Record<string, unknown>).patientId;
    const cases: Array<[unknown, string]> = [
      ['{not json', 'not valid JSON'],
      [noPatient, 'context.patientId'],
      [hook('order-select', [draft('d1', sertraline)]), 'context.selections'],
      [{ ...hook('order-sign', []), hook: 'patient-view' }, 'order-select and order-sign'],
      [{ ...hook('order-sign', []), hookInstance: undefined }, 'hookInstance'],
      [hook('order-sign', [{ ...draft('d1', sertraline), id: undefined } as unknown as MedicationRequest]), 'needs an id'],
    ];
    for (const [body, said] of cases) {
      const res = await cds(server(), 'POST', SERVICE, gp, body);
      expect(res.status, said).to.equal(400);
      expect(res.body.resourceType).to.equal('OperationOutcome');
      expect(res.body.issue[0].diagnostics, said).to.contain(said);
    }
    // A draft that is no MedicationRequest as FHIR shapes one: refused where it breaks, before its medicine is read.
    const misshapen: Array<[Partial<MedicationRequest>, string]> = [
      [{ medicationCodeableConcept: { coding: 'x' } } as never, 'MedicationRequest.medicationCodeableConcept.coding'],
      [{ medicationCodeableConcept: { coding: [null] } } as never, 'MedicationRequest.medicationCodeableConcept.coding'],
      [{ medicationReference: { reference: 5 } } as never, 'MedicationRequest.medicationReference.reference'],
      [{ ...sertraline, contained: 'x' } as never, 'MedicationRequest.contained'],
    ];
    for (const [medication, where] of misshapen) {
      const res = await cds(server(), 'POST', SERVICE, gp, hook('order-sign', [draft('d1', medication)]));
      expect(res.status, where).to.be.oneOf([400, 422]);
      expect(res.body.issue.map((i: { expression?: string[] }) => i.expression?.[0]).join(' '), where).to.contain(where);
    }
  });

  it('feedback (accepted, or overridden with a reason) is recorded in the audit trail', async () => {
    const res = await cds(server(), 'POST', SERVICE, mentalHealth, hook('order-sign', [draft('draft-amlodipine-2', amlodipineDmd)]));
    const card = res.body.cards[0];
    const overridden = { card: card.uuid, outcome: 'overridden', overrideReason: { reason: card.overrideReasons[0], userComment: 'Agreed with the GP' }, outcomeTimestamp: '2026-01-05T10:00:00Z' };
    expect((await cds(server(), 'POST', `${SERVICE}/feedback`, mentalHealth, { feedback: [overridden] })).status).to.equal(200);
    const accepted = { card: card.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: card.suggestions[0].uuid }], outcomeTimestamp: '2026-01-05T10:01:00Z' };
    expect((await cds(server(), 'POST', `${SERVICE}/feedback`, mentalHealth, { feedback: [accepted] })).status).to.equal(200);
    const bad = await cds(server(), 'POST', `${SERVICE}/feedback`, mentalHealth, { feedback: [{ ...accepted, acceptedSuggestions: undefined }] });
    expect(bad.status).to.equal(400);
    expect(bad.body.issue[0].expression).to.deep.equal(['feedback[0].acceptedSuggestions']);

    const events = await server().fhir('GET', `AuditEvent?subtype=${encodeURIComponent('https://neighbourhood.example.org/fhir/CodeSystem/audit-event-subtype|cds-services/neighbourhood-medicines/feedback')}&outcome=0&_count=100`);
    const said = (events.body.entry ?? []).map((e: { resource: { outcomeDesc?: string } }) => e.resource.outcomeDesc ?? '');
    expect(said.some((d: string) => d.includes(card.uuid) && d.includes('overridden') && d.includes('Both prescriptions are intended') && d.includes('Agreed with the GP'))).to.equal(true);
    expect(said.some((d: string) => d.includes(card.uuid) && d.includes('accepted') && d.includes(card.suggestions[0].uuid))).to.equal(true);
    // The hook call itself is on the record with its patient and the cards it answered.
    const calls = await server().fhir('GET', `AuditEvent?subtype=${encodeURIComponent('https://neighbourhood.example.org/fhir/CodeSystem/audit-event-subtype|cds-services/neighbourhood-medicines')}&patient=Patient/${OLIVE}&_count=100`);
    const queries = (calls.body.entry ?? []).flatMap((e: { resource: { entity?: Array<{ query?: string }> } }) => (e.resource.entity ?? []).map((x) => Buffer.from(x.query ?? '', 'base64').toString('utf8')));
    expect(queries.some((q: string) => q.includes(card.uuid))).to.equal(true);
  });
});
