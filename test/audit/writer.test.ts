import { expect } from 'chai';
import { AuditWriter } from '../../server/audit/writer.js';
import type { AuditRecord } from '../../server/audit/record.js';
import type { Principal } from '../../server/auth/principal.js';
import { logger } from '../../server/logger.js';
import type { Db, Queryable } from '../../server/store/db.js';
import { openHarness, type Harness } from '../search/harness.js';
import { startTestServer, type TestServer } from '../support/server.js';

const alice: Principal = { clientId: 'gp-alice', org: 'A81001', kind: 'gp-practice', scopes: [] };
const bob: Principal = { clientId: 'pharm-bob', org: 'FA123', kind: 'pharmacy', scopes: [] };

function rec(principal: Principal, patient: string): AuditRecord {
  return { interaction: 'read', principal, status: 200, resources: [`Observation/o-${patient}`], patients: [patient] };
}

/** The database with its transactions counted (a statement outside one is a transaction of its own): one per audit batch. */
function counting(db: Db): { db: Db; transactions: () => number } {
  let n = 0;
  const counted = new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction') return <T>(fn: (tx: Queryable) => Promise<T>) => (n++, target.transaction(fn));
      if (prop === 'query') return (sql: string, params?: unknown[]) => (n++, target.query(sql, params));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: counted, transactions: () => n };
}

async function auditCount(h: Harness): Promise<number> {
  const rows = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event');
  return rows[0].n;
}

describe('audit writer and search', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await openHarness();
  });
  after(() => h.db.close());

  it('100 concurrent records are all committed, in far fewer transactions than records', async () => {
    const { db, transactions } = counting(h.db);
    const writer = new AuditWriter({ db, log: logger });
    const before = await auditCount(h);
    await Promise.all(Array.from({ length: 100 }, (_, i) => writer.record(rec(i % 2 ? alice : bob, `p${i % 5}`))));
    expect(await auditCount(h)).to.equal(before + 100);
    expect(transactions()).to.be.lessThan(10);
    await writer.close();
  });

  it('records made in one turn of the event loop go together, the first one too', async () => {
    const { db, transactions } = counting(h.db);
    const writer = new AuditWriter({ db, log: logger });
    await writer.partitionsFor(new Date()); // the month's partitions are not what is counted
    const before = transactions();
    await Promise.all([alice, bob, alice, bob, alice].map((p, i) => writer.record(rec(p, `w${i}`))));
    expect(transactions() - before).to.equal(1);
    await writer.close();
  });

  it('by default one batch commits at a time: records of later turns wait for it and go together', async () => {
    const { db, transactions } = counting(h.db);
    // The first batch's statement is held until the other records are in.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let statements = 0;
    const holding = new Proxy(db, {
      get: (target, prop) =>
        prop === 'query' ? (sql: string, params?: unknown[]) => (statements++ === 0 ? held.then(() => target.query(sql, params)) : target.query(sql, params)) : Reflect.get(target, prop, target),
    });
    const writer = new AuditWriter({ db: holding, log: logger });
    await writer.partitionsFor(new Date()); // the month's partitions are not what is counted
    const before = transactions();
    const first = writer.record(rec(alice, 't0'));
    // Each of the next four in a turn of its own, all while the first batch commits.
    const later: Promise<void>[] = [];
    for (let i = 1; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      later.push(writer.record(rec(bob, `t${i}`)));
    }
    release();
    await Promise.all([first, ...later]);
    expect(transactions() - before).to.equal(2);
    await writer.close();
  });

  it('with a gathering time, records arriving within it go together, the first one too', async () => {
    const { db, transactions } = counting(h.db);
    const writer = new AuditWriter({ db, log: logger, gatherMs: 20 });
    await writer.partitionsFor(new Date());
    const before = transactions();
    await Promise.all([alice, bob, alice, bob, alice].map((p, i) => writer.record(rec(p, `g${i}`))));
    expect(transactions() - before).to.equal(1);
    await writer.close();
  });

  it('close() writes a gathering record without waiting out its time', async () => {
    const writer = new AuditWriter({ db: h.db, log: logger, gatherMs: 3_600_000 });
    const before = await auditCount(h);
    const pending = writer.record(rec(alice, 'gathering'));
    await writer.partitionsFor(new Date());
    await writer.close();
    await pending;
    expect(await auditCount(h)).to.equal(before + 1);
  });

  it('a failed batch rejects every record waiting on it', async () => {
    const failing = new Proxy(h.db, {
      get: (target, prop) => (prop === 'transaction' || prop === 'query' ? () => Promise.reject(new Error('database away')) : Reflect.get(target, prop, target)),
    });
    const writer = new AuditWriter({ db: failing, log: logger.child({}, { level: 'silent' }) });
    const results = await Promise.allSettled([writer.record(rec(alice, 'x')), writer.record(rec(bob, 'y'))]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    await writer.close();
  });

  it('close() writes what is still queued', async () => {
    // One batch at a time: the second record waits in the queue while the first commits.
    const writer = new AuditWriter({ db: h.db, log: logger, maxConcurrent: 1 });
    const before = await auditCount(h);
    const pending = [writer.record(rec(alice, 'first')), writer.record(rec(alice, 'late'))];
    await writer.close();
    await Promise.all(pending);
    expect(await auditCount(h)).to.equal(before + 2);
  });

  it('AuditEvents are found by patient, by client and by altid', async () => {
    const writer = new AuditWriter({ db: h.db, log: logger });
    await Promise.all([writer.record(rec(alice, 'pz')), writer.record(rec(bob, 'pz')), writer.record(rec(bob, 'py'))]);
    await writer.close();
    const clients = async (query: string): Promise<string[]> => {
      const bundle = await h.search('AuditEvent', query);
      return (bundle.entry ?? []).map((e) => (e.resource as { agent: Array<{ altId?: string }> }).agent[0].altId!).sort();
    };
    expect(await clients('patient=Patient/pz')).to.deep.equal(['gp-alice', 'pharm-bob']);
    expect(await clients('patient=Patient/py')).to.deep.equal(['pharm-bob']);
    expect(await clients('patient=Patient/pz&client=pharm-bob')).to.deep.equal(['pharm-bob']);
    expect(await clients('patient=Patient/py&client=https://neighbourhood.example.org/fhir/Id/client|pharm-bob')).to.deep.equal(['pharm-bob']);
    expect(await clients('patient=Patient/pz&altid=gp-alice')).to.deep.equal(['gp-alice']);
    // agent: a bare id is the client's; by identifier, the client's or its organisation's; no agent is a reference.
    expect(await clients('patient=Patient/pz&agent=gp-alice')).to.deep.equal(['gp-alice']);
    expect(await clients('patient=Patient/py&agent:identifier=https://neighbourhood.example.org/fhir/Id/client|pharm-bob')).to.deep.equal(['pharm-bob']);
    expect(await clients('patient=Patient/pz&agent=Device/gp-alice')).to.deep.equal([]);
    // The organisation's ODS code is not a client id.
    expect(await clients('patient=Patient/pz&client=A81001')).to.deep.equal([]);
  });
});

describe('AuditEvent search over HTTP', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite');
  });
  after(() => server.stop());

  it('GET /AuditEvent?patient=, ?client= and ?altid= find the events', async () => {
    const writer = new AuditWriter({ db: server.running.services.db, log: logger });
    await Promise.all([writer.record(rec(alice, 'h1')), writer.record(rec(bob, 'h2'))]);
    await writer.close();
    const byPatient = await server.fhir('GET', 'AuditEvent?patient=Patient/h1');
    expect(byPatient.status).to.equal(200);
    expect(byPatient.body.entry).to.have.length(1);
    expect(byPatient.body.entry[0].resource.agent[0].altId).to.equal('gp-alice');
    expect((await server.fhir('GET', 'AuditEvent?client=pharm-bob')).body.entry[0].resource.entity[0].what.reference).to.equal('Patient/h2');
    expect((await server.fhir('GET', 'AuditEvent?altid=pharm-bob')).body.entry).to.have.length(1);
  });

  it('create, update and delete of an AuditEvent are 405, in transactions too; other types pass', async () => {
    const writer = new AuditWriter({ db: server.running.services.db, log: logger });
    await writer.record(rec(alice, 'p1'));
    await writer.close();
    const existing = (await server.fhir('GET', 'AuditEvent?patient=Patient/p1')).body.entry[0].resource;
    expect((await server.fhir('POST', 'AuditEvent', { body: { ...existing, id: undefined } })).status).to.equal(405);
    expect((await server.fhir('PUT', `AuditEvent/${existing.id}`, { body: { ...existing, outcome: '8' } })).status).to.equal(405);
    expect((await server.fhir('DELETE', `AuditEvent/${existing.id}`)).status).to.equal(405);
    const deleteInTransaction = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `AuditEvent/${existing.id}` } }] };
    expect((await server.fhir('POST', '', { body: deleteInTransaction })).status).to.equal(405);
    expect((await server.fhir('POST', 'Patient', { body: { resourceType: 'Patient' } })).status).to.equal(201);
    expect((await server.fhir('GET', `AuditEvent/${existing.id}`)).status).to.equal(200);
  });
});
