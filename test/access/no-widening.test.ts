import { expect } from 'chai';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from '../support/server.js';
import { seedAccessFixtures } from './support.js';

/**
 * The rule of the access policies: a write is allowed only if the client could already reach what it
 * writes about before the write. Meadow Lane (B84002) has Derek; Riverside (B84001) has Aisha and
 * Margaret; High Street pharmacy (FA565) has the prescriptions addressed to it.
 */
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const careTeamFor = (patient: string, role: string): Resource =>
  ({ resourceType: 'CareTeam', status: 'active', subject: { reference: `Patient/${patient}` }, participant: [{ member: { reference: `PractitionerRole/${role}` } }] }) as Resource;

describe('access: no write may widen its writer’s own access', function () {
  this.timeout(120_000);
  let server: TestServer;
  let meadowLane: string;
  let riverside: string;
  let bridgeDental: string;
  let highStreet: string;

  before(async () => {
    server = await startTestServer('postgres');
    await seedAccessFixtures(server.running.services.store);
    meadowLane = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
    riverside = await server.clientToken({ kind: 'gp-practice', org: 'B84001', scopes: ['system/*.cruds'] });
    bridgeDental = await server.clientToken({ kind: 'care-provider', org: 'V012345', scopes: ['system/*.cruds'] });
    highStreet = await server.clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.cruds'] });
  });
  after(() => server.stop());

  const total = async (query: string): Promise<number> => (await server.fhir('GET', `${query}${query.includes('?') ? '&' : '?'}_summary=count`)).body.total;
  const version = async (ref: string): Promise<string> => (await server.fhir('GET', ref)).body.meta.versionId;
  const expectForbidden = (res: { status: number; body: { resourceType?: string; issue?: Array<{ code: string; diagnostics?: string; expression?: string[] }> } }, why: RegExp): void => {
    expect(res.status, JSON.stringify(res.body)).to.equal(403);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect(res.body.issue?.[0].code).to.equal('forbidden');
    expect(res.body.issue?.[0].diagnostics).to.match(why);
  };

  describe('care teams are not a key', () => {
    it('a GP practice that cannot see a patient may not create a CareTeam for it naming its own role (403), and still cannot read the patient', async () => {
      const teams = await total('CareTeam?patient=Patient/pat-aisha-khan');
      const res = await server.fhir('POST', 'CareTeam', { as: meadowLane, body: careTeamFor('pat-aisha-khan', 'role-hughes-gp') });
      expectForbidden(res, /Patient\/pat-aisha-khan/);
      expect(res.body.issue?.[0].expression).to.deep.equal(['CareTeam.subject']);
      expect(await total('CareTeam?patient=Patient/pat-aisha-khan')).to.equal(teams);
      expect((await server.fhir('GET', 'Patient/pat-aisha-khan', { as: meadowLane })).status).to.equal(404);
      expect((await server.fhir('GET', 'Condition?patient=Patient/pat-aisha-khan', { as: meadowLane })).body.entry ?? []).to.deep.equal([]);
    });

    it('nor by update-as-create with an id of its choosing', async () => {
      const res = await server.fhir('PUT', 'CareTeam/ct-key-attempt', { as: meadowLane, body: { ...careTeamFor('pat-aisha-khan', 'role-hughes-gp'), id: 'ct-key-attempt' } });
      expectForbidden(res, /pat-aisha-khan/);
      expect((await server.fhir('GET', 'CareTeam/ct-key-attempt')).status).to.equal(404);
    });

    it('nor by moving a care team it can see to another patient', async () => {
      const team = (await server.fhir('GET', 'CareTeam/ct-derek-brown', { as: meadowLane })).body;
      const before = await version('CareTeam/ct-derek-brown');
      const res = await server.fhir('PUT', 'CareTeam/ct-derek-brown', { as: meadowLane, body: { ...team, subject: { reference: 'Patient/pat-aisha-khan' } } });
      expectForbidden(res, /pat-aisha-khan/);
      expect(await version('CareTeam/ct-derek-brown')).to.equal(before);
    });

    it('nor through a transaction: the whole transaction is 403 naming the entry, nothing is stored', async () => {
      const teams = await total('CareTeam');
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: careTeamFor('pat-derek-brown', 'role-hughes-gp'), request: { method: 'POST', url: 'CareTeam' } },
          { resource: careTeamFor('pat-aisha-khan', 'role-hughes-gp'), request: { method: 'POST', url: 'CareTeam' } },
        ],
      };
      const res = await server.fhir('POST', '', { as: meadowLane, body: bundle });
      expectForbidden(res, /pat-aisha-khan/);
      expect(res.body.issue?.[0].expression?.[0]).to.match(/^Bundle\.entry\[1\]/);
      expect(await total('CareTeam')).to.equal(teams);
    });

    it('nor as a batch entry: that entry is 403, the others are written', async () => {
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: careTeamFor('pat-aisha-khan', 'role-hughes-gp'), request: { method: 'POST', url: 'CareTeam' } },
          { resource: careTeamFor('pat-derek-brown', 'role-hughes-gp'), request: { method: 'POST', url: 'CareTeam' } },
        ],
      };
      const res = await server.fhir('POST', '', { as: meadowLane, body: bundle });
      expect(res.status).to.equal(200);
      const [refused, written] = res.body.entry as BundleEntry[];
      expect(refused.response?.status).to.match(/^403/);
      expect((refused.response?.outcome as { issue: Array<{ code: string }> }).issue[0].code).to.equal('forbidden');
      expect(written.response?.status).to.match(/^201/);
      expect((await server.fhir('GET', 'Patient/pat-aisha-khan', { as: meadowLane })).status).to.equal(404);
    });

    it('nor through $process-message: a booking request carrying such a care team is 403 and nothing of it is stored', async () => {
      const appointments = await total('Appointment');
      const message: Bundle = {
        resourceType: 'Bundle',
        type: 'message',
        identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: 'widening-by-message' },
        entry: [
          {
            fullUrl: 'urn:uuid:6f6b0c62-6d35-4b47-9d4c-0d6f1a0c2a01',
            resource: {
              resourceType: 'MessageHeader',
              eventCoding: { system: 'https://fhir.nhs.uk/CodeSystem/message-events-bars', code: 'booking-request' },
              sender: { identifier: { system: ODS, value: 'B84002' } },
              source: { endpoint: 'https://meadow-lane.example/fhir' },
              focus: [{ reference: 'urn:uuid:6f6b0c62-6d35-4b47-9d4c-0d6f1a0c2a02' }],
            },
          },
          {
            fullUrl: 'urn:uuid:6f6b0c62-6d35-4b47-9d4c-0d6f1a0c2a02',
            resource: {
              resourceType: 'Appointment',
              status: 'booked',
              start: '2027-01-10T10:00:00Z',
              end: '2027-01-10T10:20:00Z',
              participant: [{ actor: { reference: 'PractitionerRole/role-hughes-gp' }, status: 'accepted' }],
            },
          },
          { fullUrl: 'urn:uuid:6f6b0c62-6d35-4b47-9d4c-0d6f1a0c2a03', resource: careTeamFor('pat-aisha-khan', 'role-hughes-gp') },
        ],
      };
      const res = await server.fhir('POST', '$process-message', { as: meadowLane, body: message });
      expectForbidden(res, /pat-aisha-khan/);
      expect(await total('Appointment')).to.equal(appointments);
      expect((await server.fhir('GET', 'Patient/pat-aisha-khan', { as: meadowLane })).status).to.equal(404);
    });

    it('a care provider may not open another patient’s record the same way', async () => {
      const res = await server.fhir('POST', 'CareTeam', { as: bridgeDental, body: careTeamFor('pat-margaret-jones', 'role-evans-dentist') });
      expectForbidden(res, /pat-margaret-jones/);
      expect((await server.fhir('GET', 'Patient/pat-margaret-jones', { as: bridgeDental })).status).to.equal(404);
    });

    it('the legitimate ways stay: a team for one’s own patient, and being added to a team by the registered practice', async () => {
      expect((await server.fhir('POST', 'CareTeam', { as: meadowLane, body: careTeamFor('pat-derek-brown', 'role-hughes-gp') })).status).to.equal(201);
      const team = (await server.fhir('POST', 'CareTeam', { as: riverside, body: careTeamFor('pat-margaret-jones', 'role-okafor-gp') })).body;
      expect((await server.fhir('GET', 'Patient/pat-margaret-jones', { as: meadowLane })).status).to.equal(404);
      team.participant.push({ member: { reference: 'PractitionerRole/role-hughes-gp' } });
      expect((await server.fhir('PUT', `CareTeam/${team.id}`, { as: riverside, body: team })).status).to.equal(200);
      expect((await server.fhir('GET', 'Patient/pat-margaret-jones', { as: meadowLane })).status).to.equal(200);
    });

    it('registering a new patient with one’s own practice is allowed; moving another practice’s patient to it is not', async () => {
      const created = await server.fhir('POST', 'Patient', {
        as: meadowLane,
        body: { resourceType: 'Patient', name: [{ family: 'Newcomer' }], generalPractitioner: [{ reference: 'Organization/org-meadow-lane-practice' }] },
      });
      expect(created.status).to.equal(201);
      expect((await server.fhir('GET', `Patient/${created.body.id}`, { as: meadowLane })).status).to.equal(200);
      const aisha = (await server.fhir('GET', 'Patient/pat-aisha-khan')).body;
      const before = aisha.meta.versionId;
      const moved = await server.fhir('PUT', 'Patient/pat-aisha-khan', { as: meadowLane, body: { ...aisha, generalPractitioner: [{ reference: 'Organization/org-meadow-lane-practice' }] } });
      expect(moved.status).to.equal(403);
      expect(await version('Patient/pat-aisha-khan')).to.equal(before);
    });
  });

  describe('a participation that has ended grants nothing', () => {
    it('a practice whose role left a patient’s care team (period.end in the past) no longer reaches the patient; one still in it does', async () => {
      const team = (await server.fhir('POST', 'CareTeam', { as: riverside, body: careTeamFor('pat-margaret-jones', 'role-okafor-gp') })).body;
      const withBridge = { ...team, participant: [...team.participant, { member: { reference: 'PractitionerRole/role-evans-dentist' }, period: { start: '2024-01-01' } }] };
      expect((await server.fhir('PUT', `CareTeam/${team.id}`, { as: riverside, body: withBridge })).status).to.equal(200);
      expect((await server.fhir('GET', 'Patient/pat-margaret-jones', { as: bridgeDental })).status).to.equal(200);
      const ended = { ...withBridge, participant: [team.participant[0], { member: { reference: 'PractitionerRole/role-evans-dentist' }, period: { start: '2024-01-01', end: '2025-01-01' } }] };
      expect((await server.fhir('PUT', `CareTeam/${team.id}`, { as: riverside, body: ended })).status).to.equal(200);
      expect((await server.fhir('GET', 'Patient/pat-margaret-jones', { as: bridgeDental })).status).to.equal(404);
    });
  });

  describe('prescriptions are not a key', () => {
    const rx = 'MedicationRequest/rx-aisha-azithromycin';
    const current = async () => (await server.fhir('GET', rx)).body;

    it('a pharmacy may not move a prescription addressed to it to another patient (403 naming MedicationRequest.subject), and does not see that patient', async () => {
      const before = await current();
      const res = await server.fhir('PUT', rx, { as: highStreet, body: { ...before, subject: { reference: 'Patient/pat-derek-brown' } } });
      expectForbidden(res, /subject/);
      expect(res.body.issue?.[0].expression).to.deep.equal(['MedicationRequest.subject']);
      expect((await current()).meta.versionId).to.equal(before.meta.versionId);
      expect((await server.fhir('GET', 'Patient/pat-derek-brown', { as: highStreet })).status).to.equal(404);
    });

    for (const [element, change] of [
      ['medicationCodeableConcept', { medicationCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '323509004', display: 'Amoxicillin 500mg capsules' }] } }],
      ['dosageInstruction', { dosageInstruction: [{ text: 'Two capsules four times a day' }] }],
      ['intent', { intent: 'original-order' }],
      ['requester', { requester: { reference: 'PractitionerRole/role-shah-pharmacist-prescriber', display: 'Another prescriber' } }],
    ] as const) {
      it(`a pharmacy may not change the prescriber’s ${element} (403 naming it)`, async () => {
        const before = await current();
        const res = await server.fhir('PUT', rx, { as: highStreet, body: { ...before, ...change } });
        expectForbidden(res, new RegExp(element));
        expect(res.body.issue?.[0].expression).to.deep.equal([`MedicationRequest.${element}`]);
        expect((await current()).meta.versionId).to.equal(before.meta.versionId);
      });
    }

    it('nor by JSON Patch, nor in a transaction', async () => {
      const before = await current();
      const patched = await server.fhir('PATCH', rx, {
        as: highStreet,
        headers: { 'content-type': 'application/json-patch+json' },
        body: [{ op: 'replace', path: '/subject/reference', value: 'Patient/pat-derek-brown' }],
      });
      expectForbidden(patched, /subject/);
      const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...before, intent: 'original-order' }, request: { method: 'PUT', url: rx } }] };
      expectForbidden(await server.fhir('POST', '', { as: highStreet, body: bundle }), /intent/);
      expect((await current()).meta.versionId).to.equal(before.meta.versionId);
    });

    it('it may change what dispensing needs: status, statusReason, notes and dispense details', async () => {
      const before = await current();
      const res = await server.fhir('PUT', rx, {
        as: highStreet,
        body: {
          ...before,
          status: 'on-hold',
          statusReason: { text: 'Awaiting stock' },
          note: [{ text: 'Patient informed' }],
          dispenseRequest: { ...before.dispenseRequest, numberOfRepeatsAllowed: 0 },
        },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect((await current()).status).to.equal('on-hold');
    });
  });

  describe('operations return nothing a read would not', () => {
    it('a pharmacy’s Patient/$everything holds only resources it may read directly (not the GP’s organisation or staff)', async () => {
      const res = await server.fhir('GET', 'Patient/pat-aisha-khan/$everything', { as: highStreet });
      expect(res.status).to.equal(200);
      const refs = (res.body.entry as BundleEntry[]).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
      expect(refs).to.include('Patient/pat-aisha-khan');
      expect(refs).to.include('MedicationRequest/rx-aisha-azithromycin');
      expect(refs).not.to.include('Organization/org-riverside-surgery');
      for (const ref of refs) expect((await server.fhir('GET', ref, { as: highStreet })).status, ref).to.equal(200);
    });

    it('a pharmacy’s $care-team shows only what it may read', async () => {
      const res = await server.fhir('GET', 'Patient/pat-aisha-khan/$care-team', { as: highStreet });
      for (const e of (res.body.entry ?? []) as BundleEntry[]) {
        if (e.search?.mode === 'outcome') continue;
        const ref = `${e.resource?.resourceType}/${e.resource?.id}`;
        expect((await server.fhir('GET', ref, { as: highStreet })).status, ref).to.equal(200);
      }
    });

    it('type-level Subscription/$status lists only the client’s own subscriptions', async () => {
      const subscription = { resourceType: 'Subscription', status: 'off', reason: 'test', criteria: 'Patient?', channel: { type: 'rest-hook', endpoint: 'https://receiver.example/hook', payload: 'application/fhir+json' } };
      const mine = (await server.fhir('POST', 'Subscription', { as: highStreet, body: subscription })).body.id;
      expect((await server.fhir('POST', 'Subscription', { as: riverside, body: subscription })).status).to.equal(201);
      const res = await server.fhir('GET', 'Subscription/$status', { as: highStreet });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const ids = (res.body.entry as BundleEntry[]).map((e) => JSON.stringify(e.resource)).filter((s) => s.includes('Subscription/'));
      expect(ids).to.have.length(1);
      expect(ids[0]).to.contain(`Subscription/${mine}`);
    });
  });

  describe('PATCH answers as PUT does', () => {
    for (const [kind, headers, body] of [
      ['JSON Patch', { 'content-type': 'application/json-patch+json' }, [{ op: 'add', path: '/note', value: [{ text: 'patched' }] }]],
      ['FHIRPath Patch', { 'content-type': 'application/fhir+json' }, { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }, { name: 'path', valueString: 'Condition.note' }] }] }],
    ] as const) {
      it(`${kind} of another practice’s Condition is 403, as PUT and DELETE are, and changes nothing`, async () => {
        const before = await version('Condition/cond-aisha-khan-1');
        const res = await server.fhir('PATCH', 'Condition/cond-aisha-khan-1', { as: meadowLane, headers, body });
        expectForbidden(res, /outside the client's access policy/);
        expect(await version('Condition/cond-aisha-khan-1')).to.equal(before);
      });
    }

    it('PATCH of an id that does not exist is still 404', async () => {
      const res = await server.fhir('PATCH', 'Condition/no-such-condition', { as: meadowLane, headers: { 'content-type': 'application/json-patch+json' }, body: [] });
      expect(res.status).to.equal(404);
    });
  });
});
