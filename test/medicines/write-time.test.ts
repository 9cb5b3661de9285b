import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Bundle, DetectedIssue, MedicationRequest } from '@medplum/fhirtypes';
import { fixture } from '../support/examples.js';
import { DB_KINDS } from '../support/server.js';
import { eventually, startReceiver, subFixture, useSubscriptionServer, type Receiver } from '../subscriptions/support.js';
import { OLIVE, seedMedicines } from './support.js';

const DUPTHPY = 'http://terminology.hl7.org/CodeSystem/v3-ActCode|DUPTHPY';
const implicated = (i: DetectedIssue): string[] => (i.implicated ?? []).map((r) => r.reference as string).sort();
const rx = (requester: string, medication: Partial<MedicationRequest>, patient = OLIVE): MedicationRequest => ({
  resourceType: 'MedicationRequest',
  status: 'active',
  intent: 'order',
  subject: { reference: `Patient/${patient}` },
  requester: { reference: requester },
  authoredOn: '2026-01-10T09:00:00+00:00',
  ...medication,
});
const sertraline = { medicationCodeableConcept: { text: 'Sertraline 50mg tablets' } };

for (const kind of DB_KINDS) {
  describe(`Write time: a prescription duplicating another organisation's medicine is stored with a DetectedIssue [${kind}]`, function () {
    this.timeout(120_000);
    const { server, receiver } = useSubscriptionServer(kind, 'suite');
    let gp: string;
    let mentalHealth: string;
    let pharmacy: string;
    const issuesFor = async (reference: string, as?: string): Promise<DetectedIssue[]> => {
      const res = await server().fhir('GET', `DetectedIssue?code=${encodeURIComponent(DUPTHPY)}&implicated=${reference}`, as ? { as } : {});
      expect(res.status, res.text).to.equal(200);
      return (res.body.entry ?? []).map((e: { resource: DetectedIssue }) => e.resource);
    };
    let otherPractice: Receiver;
    const subscribe = async (ods: string, endpoint: string, as?: string): Promise<void> => {
      const sub = subFixture('backport-prescription-for-pharmacy.json');
      sub.criteria = 'http://neighbourhood-hub.example/fhir/SubscriptionTopic/medication-issue';
      sub.reason = `Medication issues for ${ods}`;
      sub._criteria.extension[0].valueString = `DetectedIssue?organisation=https://fhir.nhs.uk/Id/ods-organization-code|${ods}`;
      sub.channel.endpoint = endpoint;
      const created = await server().fhir('POST', 'Subscription', { body: sub, ...(as ? { as } : {}) });
      expect(created.status, created.text).to.equal(201);
      await eventually(() => server().fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active', 30_000);
    };
    after(async () => otherPractice?.close());
    before(async () => {
      gp = await server().clientToken({ kind: 'gp-practice', org: 'B84001', scopes: ['system/*.cruds'] });
      mentalHealth = await server().clientToken({ kind: 'care-provider', org: 'RGD01', scopes: ['system/*.cruds'] });
      pharmacy = await server().clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.cruds'] });
      // The GP practice hears of medication issues for its patients (its ODS code), through the medication-issue topic;
      // an administrator's subscription for another practice (it could read them all) is narrowed by the filter alone.
      await subscribe('B84001', receiver().url, gp);
      otherPractice = await startReceiver();
      await subscribe('B84002', otherPractice.url);
      await seedMedicines(server().running.services.store);
    });

    it('the fixtures, written one by one, recorded the dm+d duplicate of the GP amlodipine and the paracetamol ingredient duplicate', async () => {
      const [amlodipine] = await issuesFor('MedicationRequest/rx-olive-amlodipine-pharmacist');
      expect(implicated(amlodipine)).to.deep.equal(['MedicationRequest/rx-olive-amlodipine-gp', 'MedicationRequest/rx-olive-amlodipine-pharmacist']);
      expect(amlodipine.severity).to.equal('high');
      expect(amlodipine.patient?.reference).to.equal(`Patient/${OLIVE}`);
      expect(amlodipine.detail).to.contain('Riverside Surgery').and.contain('High Street Pharmacy');
      const [ingredient] = await issuesFor('MedicationRequest/rx-olive-co-codamol-mental-health');
      expect(ingredient.detail).to.contain('shares the active ingredient Paracetamol');
    });

    it('REST: the duplicate is stored as sent (201) and the DetectedIssue names both prescriptions and prescribers', async () => {
      const res = await server().fhir('POST', 'MedicationRequest', { body: rx('PractitionerRole/role-okafor-gp', sertraline), as: gp });
      expect(res.status, res.text).to.equal(201);
      expect(res.body.status).to.equal('active');
      const [issue] = await issuesFor(`MedicationRequest/${res.body.id}`, gp);
      expect(implicated(issue)).to.deep.equal([`MedicationRequest/${res.body.id}`, 'MedicationRequest/rx-olive-sertraline-mental-health'].sort());
      expect(issue.detail).to.contain('Riverside Surgery').and.contain('North Leeds Community Mental Health Team');
    });

    it('the same organisation prescribing again is not flagged at write time; nor is a draft', async () => {
      const first = await server().fhir('POST', 'MedicationRequest', { body: rx('PractitionerRole/role-lee-psychiatrist', { medicationCodeableConcept: { text: 'Olanzapine 5mg tablets' } }), as: mentalHealth });
      const second = await server().fhir('POST', 'MedicationRequest', { body: rx('PractitionerRole/role-lee-psychiatrist', { medicationCodeableConcept: { text: 'Olanzapine 5mg tablets' } }), as: mentalHealth });
      const draft = await server().fhir('POST', 'MedicationRequest', { body: { ...rx('PractitionerRole/role-okafor-gp', { medicationCodeableConcept: { text: 'Olanzapine 5mg tablets' } }), status: 'draft' }, as: gp });
      for (const r of [first, second, draft]) expect(r.status, r.text).to.equal(201);
      expect(await issuesFor(`MedicationRequest/${second.body.id}`)).to.have.length(0);
      expect(await issuesFor(`MedicationRequest/${draft.body.id}`)).to.have.length(0);
    });

    it('transaction: the DetectedIssue commits with the bundle, and a bundle that fails records none', async () => {
      const entry = (resource: MedicationRequest) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource, request: { method: 'POST' as const, url: 'MedicationRequest' } });
      const amlodipine = rx('PractitionerRole/role-lee-psychiatrist', { medicationCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '319283006', display: 'Amlodipine 5mg tablets' }] } });
      // The POST runs (and records its issue) before the PUT fails on its version: the whole bundle must roll back.
      const stale = { ...rx('PractitionerRole/role-lee-psychiatrist', sertraline), id: 'rx-olive-sertraline-mental-health' };
      const failing: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [entry(amlodipine), { resource: stale, request: { method: 'PUT', url: 'MedicationRequest/rx-olive-sertraline-mental-health', ifMatch: 'W/"99"' } }] };
      const before = (await server().fhir('GET', `DetectedIssue?patient=Patient/${OLIVE}&_summary=count`)).body.total;
      expect((await server().fhir('POST', '', { body: failing, as: mentalHealth })).status).to.equal(412);
      expect((await server().fhir('GET', `DetectedIssue?patient=Patient/${OLIVE}&_summary=count`)).body.total).to.equal(before);
      const res = await server().fhir('POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: [entry(amlodipine)] }, as: mentalHealth });
      expect(res.status, res.text).to.equal(200);
      const id = /MedicationRequest\/([^/]+)/.exec(res.body.entry[0].response.location)?.[1];
      const [issue] = await issuesFor(`MedicationRequest/${id}`);
      expect(implicated(issue)).to.include.members(['MedicationRequest/rx-olive-amlodipine-gp', 'MedicationRequest/rx-olive-amlodipine-pharmacist']);
    });

    it('transaction with a new patient: a second organisation prescribing the same medicine in the same bundle records the issue; one prescription alone records none', async () => {
      const bundle = (family: string, ...prescribers: string[]): Bundle => ({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: `urn:uuid:${family}`, resource: { resourceType: 'Patient', name: [{ family }] }, request: { method: 'POST', url: 'Patient' } },
          ...prescribers.map((p) => ({ resource: { ...rx(p, sertraline), subject: { reference: `urn:uuid:${family}` } }, request: { method: 'POST' as const, url: 'MedicationRequest' } })),
        ],
      });
      const both = await server().fhir('POST', '', { body: bundle(randomUUID(), 'PractitionerRole/role-okafor-gp', 'PractitionerRole/role-lee-psychiatrist') });
      expect(both.status, both.text).to.equal(200);
      const [first, second] = both.body.entry.slice(1).map((e: { response: { location: string } }) => /MedicationRequest\/[^/]+/.exec(e.response.location)?.[0]);
      const [issue, ...more] = await issuesFor(second);
      expect(more).to.have.length(0);
      expect(implicated(issue)).to.deep.equal([first, second].sort());
      expect((await issuesFor(first)).map((i) => i.id)).to.deep.equal([issue.id]); // the first entry recorded none of its own
      expect(issue.detail).to.contain('Riverside Surgery').and.contain('North Leeds Community Mental Health Team');
      const alone = await server().fhir('POST', '', { body: bundle(randomUUID(), 'PractitionerRole/role-okafor-gp') });
      expect(alone.status, alone.text).to.equal(200);
      expect(await issuesFor(/MedicationRequest\/[^/]+/.exec(alone.body.entry[1].response.location)?.[0] ?? '')).to.have.length(0);
    });

    it('EPS $process-message: an order duplicating another organisation\'s medicine records the issue, and the receiving pharmacy sees it', async () => {
      const message = fixture<Bundle>('medicines/eps/gp-acute-nominated-pharmacy.json');
      expect((await server().fhir('POST', '$process-message', { body: message })).status).to.equal(200);
      const patient = (await server().fhir('GET', 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|5839945242')).body.entry[0].resource.id;
      // The mental health service, then the same GP practice again through EPS, prescribe azithromycin (dm+d coded).
      const other = await server().fhir('POST', 'MedicationRequest', {
        body: rx('PractitionerRole/role-lee-psychiatrist', { medicationCodeableConcept: { coding: [{ system: 'https://dmd.nhs.uk', code: '324252006', display: 'Azithromycin 250mg capsules' }] } }, patient),
      });
      expect(other.status).to.equal(201);
      const again = structuredClone(message);
      again.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() };
      for (const e of again.entry ?? []) {
        const m = e.resource as MedicationRequest;
        if (m.resourceType === 'MedicationRequest') m.identifier = [{ system: 'https://fhir.nhs.uk/Id/prescription-order-item-number', value: randomUUID() }];
      }
      const sent = await server().fhir('POST', '$process-message', { body: again });
      expect(sent.status, sent.text).to.equal(200);
      const item = (again.entry ?? []).map((e) => e.resource as MedicationRequest).find((m) => m.medicationCodeableConcept?.coding?.[0].code === '324252006');
      const stored = await server().fhir('GET', `MedicationRequest?identifier=https://fhir.nhs.uk/Id/prescription-order-item-number|${item?.identifier?.[0].value}`);
      const id = stored.body.entry[0].resource.id;
      const seen = await issuesFor(`MedicationRequest/${id}`, pharmacy);
      expect(seen).to.have.length(1);
      expect(implicated(seen[0])).to.include(`MedicationRequest/${other.body.id}`);
      expect(seen[0].detail).to.contain('North Leeds Community Mental Health Team');
    });

    it('a pharmacy sees the DetectedIssues implicating prescriptions addressed to it, and no others', async () => {
      const res = await server().fhir('GET', `DetectedIssue?patient=Patient/${OLIVE}`, { as: pharmacy });
      expect(res.status).to.equal(200);
      const seen = (res.body.entry ?? []).map((e: { resource: DetectedIssue }) => implicated(e.resource));
      expect(seen.some((refs: string[]) => refs.includes('MedicationRequest/rx-olive-amlodipine-pharmacist'))).to.equal(true);
      // The GP's sertraline (no pharmacy) against the mental health sertraline (another pharmacy): not this pharmacy's business.
      expect(seen.some((refs: string[]) => refs.includes('MedicationRequest/rx-olive-sertraline-mental-health'))).to.equal(false);
    });

    it('the medication-issue topic notifies the patient\'s GP practice (filter organisation = its ODS code)', async () => {
      await receiver().waitFor(() => receiver().events().some((r) => JSON.stringify(r.json ?? {}).includes('DUPTHPY')), 30_000);
      const focus = receiver().events().flatMap((r) => (r.json?.entry ?? []).slice(1).map((e: { resource?: DetectedIssue }) => e.resource));
      const issues = focus.filter((r: DetectedIssue | undefined) => r?.resourceType === 'DetectedIssue');
      expect(issues.length).to.be.greaterThan(0);
      expect(issues.every((i: DetectedIssue) => i.patient?.reference?.startsWith('Patient/'))).to.equal(true);
      expect(otherPractice.events().filter((r) => JSON.stringify(r.json ?? {}).includes('DUPTHPY'))).to.have.length(0);
    });
  });
}
