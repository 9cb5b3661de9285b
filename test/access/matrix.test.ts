import { expect } from 'chai';
import { seedAccessFixtures } from './support.js';
import { describeEachDatabase, type FhirReply, type TestServer } from '../support/server.js';

// The neighbourhood fixtures: Meadow Lane (B84002) is Derek's GP, and no Meadow Lane staff are on
// Aisha's or Margaret's care teams (Riverside's care coordinator is on all three, so Riverside sees
// everyone). High Street Pharmacy (FA565) is sent Aisha's and Margaret's prescriptions. Good
// Neighbours (NL0042) is on Margaret's care team.
const ALL = ['system/*.cruds'];
const ids = (r: FhirReply, type?: string): string[] =>
  (r.body.entry ?? [])
    .map((e: { resource: { resourceType: string; id: string } }) => e.resource)
    .filter((x: { resourceType: string }) => !type || x.resourceType === type)
    .map((x: { resourceType: string; id: string }) => `${x.resourceType}/${x.id}`)
    .sort();

describeEachDatabase('access: client kind × resource type × interaction', (server) => {
  const tokens: Record<string, string> = {};
  let s: TestServer;
  const as = (who: string) => ({ as: tokens[who] });
  const transaction = (who: string, entry: unknown[]) => s.fhir('POST', '', { ...as(who), body: { resourceType: 'Bundle', type: 'transaction', entry } });

  before(async () => {
    s = server();
    await seedAccessFixtures(s.running.services.store);
    tokens.gp = await s.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ALL });
    tokens.pharmacy = await s.clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ALL });
    tokens.voluntary = await s.clientToken({ kind: 'voluntary', org: 'NL0042', scopes: ALL });
    tokens.mentalHealth = await s.clientToken({ kind: 'care-provider', org: 'RGD01', scopes: ALL });
    tokens.patientReader = await s.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/Patient.rs'] });
  });

  describe('authentication', () => {
    it('without a token every FHIR endpoint is 401 with an OperationOutcome and a Bearer challenge; /metadata is open', async () => {
      for (const [method, path] of [['GET', 'Patient'], ['GET', 'Patient/pat-aisha-khan'], ['POST', ''], ['GET', '_history'], ['GET', 'Patient/pat-aisha-khan/$everything']]) {
        const r = await s.fhir(method, path, { as: null, ...(method === 'POST' ? { body: { resourceType: 'Bundle', type: 'batch', entry: [] } } : {}) });
        expect(r.status, `${method} ${path}`).to.equal(401);
        expect(r.body.resourceType).to.equal('OperationOutcome');
        expect(r.headers.get('www-authenticate')).to.match(/^Bearer/);
      }
      expect((await s.fhir('GET', 'metadata', { as: null })).status).to.equal(200);
    });

    it('the CapabilityStatement names SMART-on-FHIR and the token endpoint', async () => {
      const r = await s.fhir('GET', 'metadata', { as: null });
      const security = r.body.rest[0].security;
      expect(security.service[0].coding[0].code).to.equal('SMART-on-FHIR');
      const uris = security.extension.find((e: { url: string }) => e.url.endsWith('/oauth-uris'));
      expect(uris.extension[0].valueUri).to.equal(`${new URL(s.base).origin}/oauth2/token`);
    });

    it('a malformed bearer token is 401', async () => {
      const r = await s.fhir('GET', 'Patient', { as: 'not-a-jwt' });
      expect(r.status).to.equal(401);
      expect(r.body.issue[0].code).to.equal('security');
    });
  });

  describe('scopes', () => {
    it('a permission the scopes do not grant is 403, on reads and writes', async () => {
      expect((await s.fhir('GET', 'Patient', as('patientReader'))).status).to.equal(200);
      expect((await s.fhir('GET', 'Condition', as('patientReader'))).status).to.equal(403);
      expect((await s.fhir('GET', 'Condition/cond-aisha-khan-1', as('patientReader'))).status).to.equal(403);
      const create = await s.fhir('POST', 'Patient', { ...as('patientReader'), body: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Organization/org-riverside-surgery' }] } });
      expect(create.status).to.equal(403);
      expect(create.body.issue[0].code).to.equal('forbidden');
    });

    it('a system search covers only the types the scopes allow', async () => {
      const r = await s.fhir('GET', '?_type=Patient,Condition', as('patientReader'));
      expect(r.status).to.equal(200);
      expect(ids(r).every((id) => id.startsWith('Patient/'))).to.equal(true);
    });
  });

  describe('GP practice', () => {
    it('reads its patients and their records; another practice’s patient is 404', async () => {
      expect((await s.fhir('GET', 'Patient/pat-derek-brown', as('gp'))).status).to.equal(200);
      expect((await s.fhir('GET', 'Condition/cond-derek-brown-1', as('gp'))).status).to.equal(200);
      expect((await s.fhir('GET', 'Patient/pat-aisha-khan', as('gp'))).status).to.equal(404);
      expect((await s.fhir('GET', 'Condition/cond-aisha-khan-1', as('gp'))).status).to.equal(404);
      expect((await s.fhir('GET', 'Patient/pat-aisha-khan/_history/1', as('gp'))).status).to.equal(404);
      expect((await s.fhir('GET', 'Patient/pat-aisha-khan/_history', as('gp'))).status).to.equal(404);
      expect((await s.fhir('GET', 'Patient/pat-derek-brown/_history', as('gp'))).body.entry).to.have.length(1);
    });

    it('searches, totals and pages count only what it may see', async () => {
      const r = await s.fhir('GET', 'Patient?_total=accurate&_count=1', as('gp'));
      expect(r.body.total).to.equal(1);
      expect(ids(r)).to.deep.equal(['Patient/pat-derek-brown']);
      const conditions = await s.fhir('GET', 'Condition?_total=accurate', as('gp'));
      expect(conditions.body.total).to.equal(3);
      expect(ids(conditions).every((id) => id.includes('derek'))).to.equal(true);
    });

    it('_include, _revinclude, chains and _has never reach another practice’s patients', async () => {
      const rev = await s.fhir('GET', 'Patient?_revinclude=CareTeam:patient', as('gp'));
      expect(ids(rev, 'CareTeam')).to.deep.equal(['CareTeam/ct-derek-brown']);
      const inc = await s.fhir('GET', 'Condition?_include=Condition:subject', as('gp'));
      expect(ids(inc, 'Patient')).to.deep.equal(['Patient/pat-derek-brown']);
      const chain = 'Condition?subject:Patient.family=Khan';
      expect(ids(await s.fhir('GET', chain))).to.have.length(3);
      expect(ids(await s.fhir('GET', chain, as('gp')))).to.deep.equal([]);
      const has = 'Organization?_has:Patient:general-practitioner:family=Khan';
      expect(ids(await s.fhir('GET', has))).to.deep.equal(['Organization/org-riverside-surgery']);
      expect(ids(await s.fhir('GET', has, as('gp')))).to.deep.equal([]);
    });

    it('history lists only versions of resources it may read', async () => {
      const r = await s.fhir('GET', 'Patient/_history', as('gp'));
      expect(r.status).to.equal(200);
      expect(ids(r)).to.deep.equal(['Patient/pat-derek-brown']);
      const system = await s.fhir('GET', '_history?_count=500', as('gp'));
      expect(ids(system).some((id) => id.includes('aisha') || id.includes('margaret'))).to.equal(false);
      expect(ids(system)).to.include('Condition/cond-derek-brown-1');
    });

    it('$everything works for its patient and is 404 for another practice’s', async () => {
      const mine = await s.fhir('GET', 'Patient/pat-derek-brown/$everything', as('gp'));
      expect(mine.status).to.equal(200);
      expect(ids(mine)).to.include('Condition/cond-derek-brown-1');
      expect(ids(mine).some((id) => id.includes('aisha'))).to.equal(false);
      expect((await s.fhir('GET', 'Patient/pat-aisha-khan/$everything', as('gp'))).status).to.equal(404);
    });

    it('writes for its patients; a write about another practice’s patient is 403 and leaves nothing', async () => {
      const obs = (patient: string, text: string) => ({ resourceType: 'Observation', status: 'final', code: { text }, subject: { reference: `Patient/${patient}` } });
      expect((await s.fhir('POST', 'Observation', { ...as('gp'), body: obs('pat-derek-brown', 'mine') })).status).to.equal(201);
      const denied = await s.fhir('POST', 'Observation', { ...as('gp'), body: obs('pat-aisha-khan', 'not mine') });
      expect(denied.status).to.equal(403);
      expect(denied.body.resourceType).to.equal('OperationOutcome');
      expect((await s.fhir('GET', 'Observation?subject=Patient/pat-aisha-khan&_total=accurate')).body.total).to.equal(0);
      expect((await s.fhir('DELETE', 'Condition/cond-aisha-khan-1', as('gp'))).status).to.equal(403);
      expect((await s.fhir('GET', 'Condition/cond-aisha-khan-1')).status).to.equal(200);
    });

    it('a write is checked on the resource as it will be: registering a patient elsewhere is 403', async () => {
      const stranger = { resourceType: 'Patient', id: 'pat-new-elsewhere', generalPractitioner: [{ reference: 'Organization/org-riverside-surgery' }] };
      expect((await s.fhir('PUT', 'Patient/pat-new-elsewhere', { ...as('gp'), body: stranger })).status).to.equal(403);
      expect((await s.fhir('GET', 'Patient/pat-new-elsewhere')).status).to.equal(404);
      const mine = { ...stranger, id: 'pat-new-here', generalPractitioner: [{ reference: 'Organization/org-meadow-lane-practice' }] };
      expect((await s.fhir('PUT', 'Patient/pat-new-here', { ...as('gp'), body: mine })).status).to.equal(201);
    });

    it('a practice with more patients than fit a constant id list sees exactly its own (the long-list form of a resolved set)', async () => {
      const entry = Array.from({ length: 150 }, (_, i) => ({
        request: { method: 'PUT', url: `Patient/many-${i}` },
        resource: { resourceType: 'Patient', id: `many-${i}`, name: [{ family: 'Many' }], generalPractitioner: [{ reference: i % 3 ? 'Organization/org-meadow-lane-practice' : 'Organization/org-riverside-surgery' }] },
      }));
      expect((await s.fhir('POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry } })).status).to.equal(200);
      const seen = await s.fhir('GET', 'Patient?family=Many&_total=accurate&_count=5', as('gp'));
      expect(seen.body.total).to.equal(100);
      expect((await s.fhir('GET', 'Patient/many-1', as('gp'))).status).to.equal(200);
      expect((await s.fhir('GET', 'Patient/many-3', as('gp'))).status).to.equal(404);
    });

    it('a write is checked against the state it creates: a new staff member and a patient registered with them, in one transaction', async () => {
      const r = await transaction('gp', [
        { fullUrl: 'urn:uuid:3f1c2b1e-0000-4000-8000-000000000001', request: { method: 'POST', url: 'PractitionerRole' }, resource: { resourceType: 'PractitionerRole', active: true, organization: { reference: 'Organization/org-meadow-lane-practice' } } },
        { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', name: [{ family: 'Newcomer' }], generalPractitioner: [{ reference: 'urn:uuid:3f1c2b1e-0000-4000-8000-000000000001' }] } },
      ]);
      expect(r.status, r.text).to.equal(200);
      expect(ids(await s.fhir('GET', 'Patient?family=Newcomer', as('gp')))).to.have.length(1);
    });

    it('a transaction with one entry outside the policy fails whole with 403', async () => {
      const r = await transaction('gp', [
        { request: { method: 'POST', url: 'Observation' }, resource: { resourceType: 'Observation', status: 'final', code: { text: 'tx ok' }, subject: { reference: 'Patient/pat-derek-brown' } } },
        { request: { method: 'POST', url: 'Observation' }, resource: { resourceType: 'Observation', status: 'final', code: { text: 'tx not ok' }, subject: { reference: 'Patient/pat-aisha-khan' } } },
      ]);
      expect(r.status).to.equal(403);
      expect((await s.fhir('GET', 'Observation?code:text=tx&_total=accurate')).body.total).to.equal(0);
    });
  });

  describe('community pharmacy', () => {
    it('sees the prescriptions addressed to it, and no other', async () => {
      const r = await s.fhir('GET', 'MedicationRequest', as('pharmacy'));
      expect(ids(r)).to.deep.equal(['MedicationRequest/rx-aisha-azithromycin', 'MedicationRequest/rx-margaret-paracetamol']);
      expect((await s.fhir('GET', 'MedicationRequest/rx-derek-other-pharmacy', as('pharmacy'))).status).to.equal(404);
    });

    it('sees the patients and requesters its prescriptions reference, through reads and _include', async () => {
      expect((await s.fhir('GET', 'Patient/pat-aisha-khan', as('pharmacy'))).status).to.equal(200);
      expect((await s.fhir('GET', 'Patient/pat-derek-brown', as('pharmacy'))).status).to.equal(404);
      expect((await s.fhir('GET', 'PractitionerRole/role-shah-pharmacist-prescriber', as('pharmacy'))).status).to.equal(200);
      const inc = await s.fhir('GET', 'MedicationRequest?_include=MedicationRequest:subject&_include=MedicationRequest:requester', as('pharmacy'));
      expect(ids(inc, 'Patient')).to.deep.equal(['Patient/pat-aisha-khan', 'Patient/pat-margaret-jones']);
      expect(ids(inc, 'PractitionerRole')).to.deep.equal(['PractitionerRole/role-shah-pharmacist-prescriber']);
    });

    it('sees no care-team notes or conditions, even through _revinclude', async () => {
      expect((await s.fhir('GET', 'CareTeam/ct-aisha-khan', as('pharmacy'))).status).to.equal(404);
      expect(ids(await s.fhir('GET', 'CareTeam', as('pharmacy')))).to.deep.equal([]);
      expect(ids(await s.fhir('GET', 'Condition', as('pharmacy')))).to.deep.equal([]);
      const rev = await s.fhir('GET', 'Patient?_revinclude=CareTeam:patient&_revinclude=MedicationRequest:subject', as('pharmacy'));
      expect(ids(rev, 'CareTeam')).to.deep.equal([]);
      expect(ids(rev, 'MedicationRequest')).to.not.include('MedicationRequest/rx-derek-other-pharmacy');
    });

    it('may update the dispensing status of its prescription, not re-address it or create one', async () => {
      const rx = (await s.fhir('GET', 'MedicationRequest/rx-aisha-azithromycin', as('pharmacy'))).body;
      expect((await s.fhir('PUT', 'MedicationRequest/rx-aisha-azithromycin', { ...as('pharmacy'), body: { ...rx, status: 'completed' } })).status).to.equal(200);
      const readdressed = { ...rx, status: 'completed', dispenseRequest: { performer: { reference: 'Organization/org-community-health' } } };
      expect((await s.fhir('PUT', 'MedicationRequest/rx-aisha-azithromycin', { ...as('pharmacy'), body: readdressed })).status).to.equal(403);
      const { id: _id, meta: _meta, ...fresh } = rx;
      expect((await s.fhir('POST', 'MedicationRequest', { ...as('pharmacy'), body: fresh })).status).to.equal(403);
      expect((await s.fhir('PUT', 'MedicationRequest/rx-derek-other-pharmacy', { ...as('pharmacy'), body: { ...rx, id: 'rx-derek-other-pharmacy' } })).status).to.equal(403);
    });
  });

  describe('voluntary organisation', () => {
    it('sees the care teams it belongs to and those patients’ demographics only', async () => {
      expect(ids(await s.fhir('GET', 'CareTeam', as('voluntary')))).to.deep.equal(['CareTeam/ct-margaret-jones']);
      expect((await s.fhir('GET', 'Patient/pat-margaret-jones', as('voluntary'))).status).to.equal(200);
      expect((await s.fhir('GET', 'Patient/pat-aisha-khan', as('voluntary'))).status).to.equal(404);
      expect((await s.fhir('GET', 'Condition/cond-margaret-jones-1', as('voluntary'))).status).to.equal(404);
    });

    it('never sees a MedicationRequest, nor may write one', async () => {
      expect(ids(await s.fhir('GET', 'MedicationRequest', as('voluntary')))).to.deep.equal([]);
      expect((await s.fhir('GET', 'MedicationRequest/rx-margaret-paracetamol', as('voluntary'))).status).to.equal(404);
      const rev = await s.fhir('GET', 'Patient?_revinclude=MedicationRequest:subject', as('voluntary'));
      expect(ids(rev, 'MedicationRequest')).to.deep.equal([]);
      const r = await s.fhir('POST', 'MedicationRequest', { ...as('voluntary'), body: { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'x' }, subject: { reference: 'Patient/pat-margaret-jones' } } });
      expect(r.status).to.equal(403);
    });

    it('sees the appointments it is a participant in', async () => {
      await s.running.services.store.update({
        resourceType: 'Appointment',
        id: 'appt-margaret-befriending',
        status: 'booked',
        start: '2026-12-01T10:00:00Z',
        end: '2026-12-01T11:00:00Z',
        participant: [{ actor: { reference: 'Patient/pat-margaret-jones' }, status: 'accepted' }, { actor: { reference: 'Organization/org-good-neighbours' }, status: 'accepted' }],
      });
      expect(ids(await s.fhir('GET', 'Appointment', as('voluntary')))).to.deep.equal(['Appointment/appt-margaret-befriending']);
    });
  });

  describe('care provider (mental health service)', () => {
    // North Mental Health (RGD01) staff are on Aisha's and Derek's care teams, not Margaret's.
    it('sees the patients whose active care team includes its staff, with their records, and no one else', async () => {
      expect(ids(await s.fhir('GET', 'Patient?family=Khan,Brown,Jones', as('mentalHealth')))).to.deep.equal(['Patient/pat-aisha-khan', 'Patient/pat-derek-brown']);
      expect((await s.fhir('GET', 'Condition/cond-derek-brown-1', as('mentalHealth'))).status).to.equal(200);
      expect((await s.fhir('GET', 'Condition/cond-margaret-jones-1', as('mentalHealth'))).status).to.equal(404);
    });

    it('once the care team is no longer active, the patient is out of reach', async () => {
      const team = (await s.fhir('GET', 'CareTeam/ct-aisha-khan')).body;
      expect((await s.fhir('PUT', 'CareTeam/ct-aisha-khan', { body: { ...team, status: 'inactive' } })).status).to.equal(200);
      expect((await s.fhir('GET', 'Patient/pat-aisha-khan', as('mentalHealth'))).status).to.equal(404);
      expect((await s.fhir('PUT', 'CareTeam/ct-aisha-khan', { body: { ...team, status: 'active' } })).status).to.equal(200);
      expect((await s.fhir('GET', 'Patient/pat-aisha-khan', as('mentalHealth'))).status).to.equal(200);
    });
  });

  describe('administrator', () => {
    it('sees everything', async () => {
      const r = await s.fhir('GET', 'MedicationRequest?_total=accurate');
      expect(r.body.total).to.be.greaterThanOrEqual(3);
      expect((await s.fhir('GET', 'Patient/pat-derek-brown')).status).to.equal(200);
    });

    it('a practice reaching for AuditEvents through _has or _revinclude is told they are searched on their own, not answered with a 500', async () => {
      // _has would widen the answer if ignored, so it is refused even when lenient; _revinclude is only ignored then.
      for (const [query, lenient] of [['Patient?_has:AuditEvent:patient:date=ge2020', 400], ['Patient?_revinclude=AuditEvent:patient', 200]] as const) {
        const strict = await s.fhir('GET', query, { ...as('gp'), headers: { prefer: 'handling=strict' } });
        expect(strict.status, query).to.equal(400);
        expect(strict.body.issue[0].diagnostics).to.contain('searched on its own');
        expect((await s.fhir('GET', query, as('gp'))).status, query).to.equal(lenient);
      }
    });

    it('bulk export is for administrators only: its kick-off, and the status, files and cancelling of an administrator\'s export', async () => {
      const r = await s.fhir('GET', '$export', { ...as('gp'), headers: { prefer: 'respond-async' } });
      expect(r.status).to.equal(403);
      const kickOff = await s.fhir('GET', '$export?_type=Patient', { headers: { prefer: 'respond-async' } });
      expect(kickOff.status).to.equal(202);
      const status = kickOff.headers.get('content-location')!.replace(/^.*?\/fhir\//, '');
      for (const [method, path] of [['GET', status], ['GET', `${status}/1.ndjson`], ['DELETE', status]]) {
        const refused = await s.fhir(method, path, as('gp'));
        expect(refused.status, `${method} ${path}`).to.equal(403);
        expect(refused.body.resourceType).to.equal('OperationOutcome');
      }
      expect((await s.fhir('GET', status)).status).to.be.oneOf([200, 202]);
      expect((await s.fhir('DELETE', status)).status).to.equal(202);
    });
  });
});
