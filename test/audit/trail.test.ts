import { expect } from 'chai';
import { maintainAuditPartitions } from '../../server/audit/partitions.js';
import { loadConfig } from '../../server/config.js';
import { auditHistoryPage } from '../../server/audit/trail-history.js';
import { auditRowOf, insertAuditRows } from '../../server/audit/trail-row.js';
import type { Queryable } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { exportAndWait, readOutput } from '../export/support.js';
import { freshPostgresUrl, startTestServer, type FhirReply, type TestServer } from '../support/server.js';

type Event = {
  id: string;
  meta: { versionId: string; lastUpdated: string };
  recorded: string;
  entity?: Array<{ what?: { reference?: string }; type?: { code?: string } }>;
  agent?: Array<{ type?: { coding?: Array<{ code?: string }> }; network?: { address?: string; type?: string } }>;
};
const events = (reply: FhirReply): Event[] => (reply.body.entry ?? []).filter((e: { search?: { mode: string } }) => e.search?.mode === 'match').map((e: { resource: Event }) => e.resource);

describe('audit trail: one row per event, AuditEvents built when read', function () {
  this.timeout(60_000);
  let server: TestServer;
  let patientId: string;
  before(async () => {
    server = await startTestServer('pglite');
    patientId = (await server.fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Trail' }] } })).body.id;
    await server.fhir('GET', `Patient/${patientId}`);
    await server.fhir('GET', 'Patient/no-such-patient');
  });
  after(() => server.stop());

  it('writes no resource, history, change-log or search index rows for AuditEvents', async () => {
    const db = server.running.services.db;
    for (const table of ['resources', 'resource_history', 'change_log', 'search_token', 'search_reference', 'search_date']) {
      const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE resource_type = 'AuditEvent'`);
      expect(n, table).to.equal(0);
    }
    const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event');
    expect(n).to.be.greaterThan(2);
  });

  it('searches by action, subtype, type, outcome, entity and patient, as the events read', async () => {
    const created = events(await server.fhir('GET', `AuditEvent?action=C&entity=Patient/${patientId}`));
    expect(created).to.have.length(1);
    expect(events(await server.fhir('GET', `AuditEvent?subtype=http://hl7.org/fhir/restful-interaction|create&patient=Patient/${patientId}`)).map((e) => e.id)).to.deep.equal([created[0].id]);
    const reads = events(await server.fhir('GET', `AuditEvent?type=http://terminology.hl7.org/CodeSystem/audit-event-type|rest&subtype=read&patient=${patientId}`));
    expect(reads).to.have.length(1);
    // Read back from its row, the Patient read is BALP's PatientRead: the Patient as data and as patient.
    expect(reads[0].entity?.filter((x) => x.what?.reference === `Patient/${patientId}`).map((x) => x.type?.code)).to.have.members(['2', '1']);
    expect(events(await server.fhir('GET', 'AuditEvent?type=http://dicom.nema.org/resources/ontology/DCM|110110'))).to.have.length(0);
    // BALP's server agent has a network address: the hub's host as clients reach it (its base URL's).
    const serverAgent = reads[0].agent?.find((a) => a.type?.coding?.[0].code === '110153');
    expect(serverAgent?.network).to.deep.equal({ address: new URL(server.base).host, type: '1' });
    const refused = events(await server.fhir('GET', 'AuditEvent?outcome=4&entity=Patient/no-such-patient'));
    expect(refused).to.have.length(1);
    expect(events(await server.fhir('GET', 'AuditEvent?outcome=0&subtype=read&entity=Patient/no-such-patient'))).to.have.length(0);
    expect(events(await server.fhir('GET', `Patient/${patientId}/AuditEvent`)).map((e) => e.id)).to.include.members([created[0].id, reads[0].id]);
  });

  it('reads an event by id, as its only version and in its history, the same as search shows it', async () => {
    const [found] = events(await server.fhir('GET', `AuditEvent?action=C&entity=Patient/${patientId}`));
    const read = await server.fhir('GET', `AuditEvent/${found.id}`);
    expect(read.status).to.equal(200);
    expect(read.body).to.deep.equal(found);
    expect(read.headers.get('etag')).to.equal('W/"1"');
    expect((await server.fhir('GET', `AuditEvent/${found.id}/_history/1`)).body).to.deep.equal(found);
    expect((await server.fhir('GET', `AuditEvent/${found.id}/_history/2`)).status).to.equal(404);
    const history = await server.fhir('GET', `AuditEvent/${found.id}/_history`);
    expect(history.body.total).to.equal(1);
    expect(history.body.entry[0].resource).to.deep.equal(found);
    expect((await server.fhir('GET', 'AuditEvent/not-an-event')).status).to.equal(404);
    expect((await server.fhir('GET', 'AuditEvent/0190a5b2-0000-7000-8000-000000000000')).status).to.equal(404);
  });

  it('the hub store reads AuditEvents among others from the trail, as a read finds them', async () => {
    const [event] = events(await server.fhir('GET', `AuditEvent?entity=Patient/${patientId}&_count=1`));
    const versions = await server.running.services.store.readMany([
      { resourceType: 'AuditEvent', id: event.id },
      { resourceType: 'Patient', id: patientId },
      { resourceType: 'AuditEvent', id: 'not-a-uuid' },
    ]);
    expect(versions.map((v) => `${v.resourceType}/${v.id}`).sort()).to.deep.equal([`AuditEvent/${event.id}`, `Patient/${patientId}`]);
    expect(JSON.parse(versions.find((v) => v.resourceType === 'AuditEvent')!.content!)).to.deep.equal(event);
  });

  it('pages newest first by date with _count, _total and next/previous links that cover every event once', async () => {
    // Every search is itself recorded: page through the events up to now only.
    const until = `date=le${new Date(Date.now() - 1).toISOString()}`;
    const all = events(await server.fhir('GET', `AuditEvent?${until}&_count=1000&_sort=-date`));
    const first = await server.fhir('GET', `AuditEvent?${until}&_sort=-date&_count=2&_total=accurate`);
    expect(first.body.total).to.equal(all.length);
    const seen = events(first).map((e) => e.id);
    expect(seen).to.deep.equal(all.slice(0, 2).map((e) => e.id));
    let next = first.body.link.find((l: { relation: string }) => l.relation === 'next')?.url;
    let second: FhirReply | undefined;
    while (next && seen.length < all.length) {
      const page = await server.fhir('GET', next.slice(next.indexOf('/fhir/') + 6));
      second ??= page;
      seen.push(...events(page).map((e) => e.id));
      next = page.body.link.find((l: { relation: string }) => l.relation === 'next')?.url;
    }
    expect(seen).to.deep.equal(all.map((e) => e.id));
    const previous = second!.body.link.find((l: { relation: string }) => l.relation === 'previous').url;
    expect(events(await server.fhir('GET', previous.slice(previous.indexOf('/fhir/') + 6))).map((e) => e.id)).to.deep.equal(all.slice(0, 2).map((e) => e.id));
    const oldestFirst = events(await server.fhir('GET', `AuditEvent?${until}&_count=1000&_sort=date`)).map((e) => e.recorded);
    expect(oldestFirst).to.deep.equal([...oldestFirst].sort());
  });

  it('finds events by date, and none outside the range', async () => {
    const [event] = events(await server.fhir('GET', `AuditEvent?action=C&entity=Patient/${patientId}`));
    const day = event.recorded.slice(0, 10);
    expect(events(await server.fhir('GET', `AuditEvent?date=${day}&action=C&entity=Patient/${patientId}`))).to.have.length(1);
    expect(events(await server.fhir('GET', `AuditEvent?date=ge${event.recorded}&date=le${event.recorded}&action=C`)).map((e) => e.id)).to.include(event.id);
    expect(events(await server.fhir('GET', `AuditEvent?date=lt${day}&action=C&entity=Patient/${patientId}`))).to.have.length(0);
    expect((await server.fhir('GET', 'AuditEvent?date=not-a-date', { headers: { prefer: 'handling=strict' } })).status).to.equal(400);
  });

  it('Bulk $export of AuditEvent with _since ships what was recorded since, built as read', async () => {
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await server.fhir('GET', `Patient/${patientId}`);
    const { manifest } = await exportAndWait(server, `$export?_type=AuditEvent&_since=${since}`);
    const exported = (await readOutput(server, manifest)) as unknown as Event[];
    expect(exported.length).to.be.greaterThan(0);
    expect(exported.every((e) => e.recorded > since)).to.equal(true);
    const read = exported.find((e) => e.entity?.some((x) => x.what?.reference === `Patient/${patientId}`))!;
    expect(read, 'the read after _since').to.exist;
    expect((await server.fhir('GET', `AuditEvent/${read.id}`)).body).to.deep.equal(read);
    const before = events(await server.fhir('GET', `AuditEvent?_count=1000&date=lt${since}`)).map((e) => e.id);
    expect(before.length).to.be.greaterThan(0);
    expect(exported.filter((e) => before.includes(e.id))).to.deep.equal([]);
  });

  it('$everything and patient $export include the audit trail only when AuditEvent is named', async () => {
    const accesses = events(await server.fhir('GET', `AuditEvent?patient=${patientId}&_count=1000`)).map((e) => e.id);
    const named = await server.fhir('GET', `Patient/${patientId}/$everything?_type=AuditEvent`);
    expect(named.status).to.equal(200);
    const fromEverything = named.body.entry.map((e: { resource: Event & { resourceType: string } }) => e.resource).filter((r: { resourceType: string }) => r.resourceType === 'AuditEvent').map((r: Event) => r.id);
    expect(fromEverything).to.include.members(accesses);
    const plain = await server.fhir('GET', `Patient/${patientId}/$everything`);
    expect(plain.body.entry.some((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'AuditEvent')).to.equal(false);
    const { manifest } = await exportAndWait(server, `Patient/$export?_type=AuditEvent`);
    const exported = (await readOutput(server, manifest)).map((r) => r.id);
    expect(exported).to.include.members(accesses);
  });

  it('a paging cursor that is not ours is a 400 naming _cursor, never a database error', async () => {
    const forged = Buffer.from(JSON.stringify(['next', 'AuditEvent', '-'.repeat(36), ['2020']])).toString('base64url');
    const search = await server.fhir('GET', `AuditEvent?_cursor=${forged}`, { headers: { prefer: 'handling=strict' } });
    expect(search.status).to.equal(400);
    expect(search.body.issue[0].expression).to.deep.equal(['_cursor']);
    const history = await server.fhir('GET', `AuditEvent/_history?_cursor=${Buffer.from(JSON.stringify(['2020', '-'.repeat(36)])).toString('base64url')}`);
    expect(history.status).to.equal(400);
    const year = Buffer.from(JSON.stringify(['next', 'AuditEvent', '0190a5b2-0000-7000-8000-000000000000', ['2020']])).toString('base64url');
    expect((await server.fhir('GET', `AuditEvent?_cursor=${year}`)).status).to.equal(200);
  });

  it('a parameter the trail cannot answer is a 400 naming it when strict, a warning otherwise', async () => {
    const strict = await server.fhir('GET', 'AuditEvent?entity-role=4', { headers: { prefer: 'handling=strict' } });
    expect(strict.status).to.equal(400);
    expect(strict.body.issue[0].expression).to.deep.equal(['entity-role']);
    const lenient = await server.fhir('GET', 'AuditEvent?entity-role=4&_count=1');
    expect(lenient.status).to.equal(200);
    expect(lenient.body.entry.some((e: { search: { mode: string } }) => e.search.mode === 'outcome')).to.equal(true);
  });
});

describe('audit trail partitions on PostgreSQL', function () {
  this.timeout(60_000);

  it('events go to their month, and AUDIT_RETENTION_MONTHS drops whole old months at start', async () => {
    const databaseUrl = await freshPostgresUrl();
    const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 2 });
    await migrate(db);
    // An event of March 2020, in its own month's partition.
    const old = new Date(Date.UTC(2020, 2, 15));
    await maintainAuditPartitions(db, old);
    const oldRow = auditRowOf({ interaction: 'read', status: 200, resources: ['Patient/long-ago'], patients: ['long-ago'] }, old);
    await insertAuditRows(db, [oldRow]);
    await db.close();

    const server = await startTestServer('postgres', { databaseUrl, auditRetentionMonths: 12 });
    try {
      const partitions = await server.running.services.db.query<{ name: string; n: number }>(
        `SELECT c.relname AS name, (SELECT count(*)::int FROM audit_event e WHERE e.tableoid = c.oid) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_event'::regclass ORDER BY 1`,
      );
      const now = new Date();
      const thisMonth = `audit_event_y${now.getUTCFullYear()}m${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
      const names = partitions.map((p) => p.name);
      expect(names).to.include(thisMonth);
      expect(names).not.to.include('audit_event_y2020m03');
      expect((await server.fhir('GET', `AuditEvent/${oldRow.id}`)).status).to.equal(404);
      expect((await server.fhir('GET', 'Patient/not-there')).status).to.equal(404);
      const recent = events(await server.fhir('GET', 'AuditEvent?entity=Patient/not-there'));
      expect(recent).to.have.length(1);
      expect((await server.fhir('GET', `AuditEvent/${recent[0].id}`)).status).to.equal(200);
      // Nothing fell through to the default partition.
      const counts = await server.running.services.db.query<{ name: string; n: number }>(
        `SELECT c.relname AS name, (SELECT count(*)::int FROM audit_event e WHERE e.tableoid = c.oid) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_event'::regclass`,
      );
      expect(counts.find((p) => p.name === 'audit_event_default')?.n).to.equal(0);
      expect(counts.find((p) => p.name === thisMonth)?.n).to.be.greaterThan(0);
    } finally {
      await server.stop();
    }
  });

  it('AuditEvent/id/_history looks in the one month its id names, as a read does', async () => {
    const db = await openDb({ databaseUrl: await freshPostgresUrl(), dataDir: 'memory://', poolSize: 2 });
    try {
      await migrate(db);
      const march = new Date(Date.UTC(2020, 2, 15));
      const april = new Date(Date.UTC(2020, 3, 15));
      await maintainAuditPartitions(db, march);
      await maintainAuditPartitions(db, april);
      const rows = [march, april].map((t) => auditRowOf({ interaction: 'read', status: 200, resources: ['Patient/p'], patients: ['p'] }, t));
      await insertAuditRows(db, rows);
      const statements: Array<{ sql: string; params: unknown[] }> = [];
      const recording: Queryable = { query: (sql, params, options) => (statements.push({ sql, params: [...(params ?? [])] }), db.query(sql, params, options)) };
      const page = await auditHistoryPage(recording, { resourceType: 'AuditEvent', id: rows[0].id, count: 10 });
      expect(page.versions.map((v) => v.id)).to.deep.equal([rows[0].id]);
      for (const { sql, params } of statements) {
        const plan = JSON.stringify(await db.query(`EXPLAIN (FORMAT JSON) ${sql}`, params));
        const scanned = new Set([...plan.matchAll(/"Relation Name":\s*"(audit_event_[a-z0-9]+)"/g)].map((m) => m[1]));
        expect([...scanned]).to.deep.equal(['audit_event_y2020m03']);
      }
    } finally {
      await db.close();
    }
  });

  it('an audit trail that cannot be written refuses the request with 503, and nothing is changed', async () => {
    const server = await startTestServer('postgres');
    const db = server.running.services.db;
    try {
      await db.query('ALTER TABLE audit_event RENAME TO audit_event_away');
      const read = await server.fhir('GET', 'Patient?_count=1');
      expect(read.status).to.equal(503);
      expect(read.body.issue[0].code).to.equal('transient');
      expect((await server.fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Unrecorded' }] } })).status).to.equal(503);
      await db.query('ALTER TABLE audit_event_away RENAME TO audit_event');
      expect(events(await server.fhir('GET', 'Patient?family=Unrecorded'))).to.have.length(0);
    } finally {
      await server.stop();
    }
  });
});

describe('audit trail settings', () => {
  it('AUDIT_RETENTION_MONTHS is a whole number of months; the trail can be turned off only with authentication off', () => {
    expect(loadConfig({ AUDIT_RETENTION_MONTHS: '18' }).auditRetentionMonths).to.equal(18);
    expect(loadConfig({}).auditRetentionMonths).to.equal(undefined);
    expect(() => loadConfig({ AUDIT_RETENTION_MONTHS: '0' })).to.throw(/AUDIT_RETENTION_MONTHS/);
    expect(() => loadConfig({ AUDIT_DISABLED: 'true' })).to.throw(/AUDIT_DISABLED may only be true with AUTH_DISABLED=true/);
    expect(loadConfig({ AUDIT_DISABLED: 'true', AUTH_DISABLED: 'true' }).auditDisabled).to.equal(true);
  });
});
