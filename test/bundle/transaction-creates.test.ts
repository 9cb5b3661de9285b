import { expect } from 'chai';
import type { BundleEntry } from '@medplum/fhirtypes';
import { describeEachDatabase } from '../support/server.js';
import { NHS, post, refOf, snapshot, transaction } from './support.js';

// A transaction's creates are written together, a few statements per Bundle (server/store/pending-creates.ts):
// what a client sees afterwards is what creates written one by one give.

const LOINC = 'http://loinc.org';

/** `n` patients with an Observation each, linked by urn:uuid. */
function patientsWithObservations(family: string, n: number): BundleEntry[] {
  return Array.from({ length: n }, (_, i): BundleEntry[] => [
    { fullUrl: `urn:uuid:${family}-patient-${i}`, resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: `${family}-${i}` }], name: [{ family }], birthDate: `19${50 + i}-01-01` }, request: { method: 'POST', url: 'Patient' } },
    {
      resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: LOINC, code: '29463-7' }] }, subject: { reference: `urn:uuid:${family}-patient-${i}` }, valueQuantity: { value: 60 + i, system: 'http://unitsofmeasure.org', code: 'kg' } },
      request: { method: 'POST', url: 'Observation' },
    },
  ]).flat();
}

describeEachDatabase('transaction: many creates written together', (server) => {
  it('60 creates linked by urn:uuid with conditional creates among them: each is version 1, found by search and _history, with one change-log row each in entry order', async () => {
    const existing = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', identifier: [{ system: NHS, value: 'many-existing' }], name: [{ family: 'ManyExisting' }] } });
    expect(existing.status, existing.text).to.equal(201);
    const before = await snapshot(server());
    const entries = [
      ...patientsWithObservations('ManyCreates', 29),
      { fullUrl: 'urn:uuid:many-existing', resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: 'many-existing' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS}|many-existing` } },
      { resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: LOINC, code: '8302-2' }] }, subject: { reference: 'urn:uuid:many-existing' } }, request: { method: 'POST', url: 'Observation' } },
      { resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: 'many-new' }], name: [{ family: 'ManyNew' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS}|many-new` } },
    ] as BundleEntry[];
    const res = await post(server(), transaction(entries));
    expect(res.status, res.text).to.equal(200);
    const statuses = res.body.entry.map((e: { response: { status: string } }) => e.response.status);
    expect(statuses.filter((s: string) => s === '201 Created')).to.have.length(60);
    expect(statuses[58]).to.equal('200 OK');
    const refs: string[] = res.body.entry.map((e: { response: { location: string } }) => refOf(e.response.location));
    expect(refs[58]).to.equal(refOf(existing.headers.get('location') ?? ''));
    const created = refs.filter((_, i) => i !== 58);
    expect(await snapshot(server())).to.deep.equal(before.map((n) => n + 60));

    const family = await server().fhir('GET', 'Patient?family=ManyCreates&_count=100&_total=accurate');
    expect(family.body.total).to.equal(29);
    const chained = await server().fhir('GET', 'Observation?subject:Patient.family=ManyCreates&value-quantity=gt80&_total=accurate');
    expect(chained.body.total).to.equal(8); // 81..88 kg
    const ofExisting = await server().fhir('GET', `Observation?subject=${refs[58]}&code=${LOINC}|8302-2`);
    expect(ofExisting.body.entry).to.have.length(1);
    expect((await server().fhir('GET', `Patient?identifier=${NHS}|many-new`)).body.entry[0].resource.id).to.equal(created[59].split('/')[1]);
    for (const ref of [created[0], created[1], created[59]]) {
      const history = await server().fhir('GET', `${ref}/_history`);
      expect(history.body.total, ref).to.equal(1);
      expect(history.body.entry[0].resource.meta.versionId).to.equal('1');
      expect(history.body.entry[0].request).to.deep.equal({ method: 'POST', url: ref.split('/')[0] });
    }

    const changes = await server().running.services.db.query<{ resource_type: string; id: string; version_id: number; interaction: string }>(
      `SELECT resource_type, id, version_id, interaction FROM change_log WHERE resource_type IN ('Patient', 'Observation') AND id = ANY($1::text[]) ORDER BY seq`,
      [created.map((r) => r.split('/')[1])],
    );
    expect(changes.map((c) => `${c.resource_type}/${c.id}`)).to.deep.equal(created);
    expect(new Set(changes.map((c) => `${c.version_id} ${c.interaction}`))).to.deep.equal(new Set(['1 create']));
  });

  it('new patients with their appointments and prescriptions: the write rules read nothing back, and the bundle is written in one statement with its audit event', async () => {
    const db = server().running.services.db;
    const statements: string[] = [];
    const unwatched = db.transaction.bind(db);
    db.transaction = (fn) => unwatched((tx) => fn({ query: (sql, params, options) => (statements.push(sql), tx.query(sql, params, options)) }));
    const entries = Array.from({ length: 10 }, (_, i): BundleEntry[] => {
      const patient = { reference: `urn:uuid:rules-patient-${i}` };
      return [
        { fullUrl: patient.reference, resource: { resourceType: 'Patient', name: [{ family: 'RulesReadNothing' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: patient, medicationCodeableConcept: { text: 'Sertraline 50mg tablets' } }, request: { method: 'POST', url: 'MedicationRequest' } },
        { resource: { resourceType: 'Appointment', status: 'booked', start: '2027-07-01T09:00:00Z', end: '2027-07-01T09:10:00Z', participant: [{ actor: patient, status: 'accepted' }] }, request: { method: 'POST', url: 'Appointment' } },
      ];
    }).flat();
    try {
      const res = await post(server(), transaction(entries));
      expect(res.status, res.text).to.equal(200);
    } finally {
      db.transaction = unwatched;
    }
    // The transaction's audit event goes in the same statement as the creates.
    expect(statements).to.have.length(1);
    expect(statements[0]).to.contain('INSERT INTO audit_event');
    expect((await server().fhir('GET', 'Appointment?patient.family=RulesReadNothing&_total=accurate')).body.total).to.equal(10);
  });

  it('an entry failing after the creates were written (a stale If-Match on a PUT, run after every POST) undoes them all', async () => {
    await server().fhir('PUT', 'Patient/many-stale', { body: { resourceType: 'Patient', id: 'many-stale' } });
    await server().fhir('PUT', 'Patient/many-stale', { body: { resourceType: 'Patient', id: 'many-stale', active: true } });
    const before = await snapshot(server());
    const res = await post(server(), transaction([
      ...patientsWithObservations('ManyStale', 20),
      { resource: { resourceType: 'Patient', id: 'many-stale', active: false }, request: { method: 'PUT', url: 'Patient/many-stale', ifMatch: 'W/"1"' } },
    ]));
    expect(res.status, res.text).to.equal(412);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[40]']);
    expect(await snapshot(server())).to.deep.equal(before);
    expect((await server().fhir('GET', 'Patient?family=ManyStale&_total=accurate')).body.total).to.equal(0);
  });

  it('an invalid last create undoes the creates before it', async () => {
    const before = await snapshot(server());
    const res = await post(server(), transaction([
      ...patientsWithObservations('ManyInvalid', 20),
      { resource: { resourceType: 'Patient', gender: 'not-a-gender' }, request: { method: 'POST', url: 'Patient' } },
    ] as BundleEntry[]));
    expect(res.status, res.text).to.equal(400);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[40].resource.gender']);
    expect(await snapshot(server())).to.deep.equal(before);
    expect((await server().fhir('GET', 'Patient?family=ManyInvalid&_total=accurate')).body.total).to.equal(0);
  });
});
