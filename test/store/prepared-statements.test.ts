import { expect } from 'chai';
import type { Db, Queryable } from '../../server/store/db.js';
import { openDb } from '../../server/store/open-db.js';
import { PendingCreates } from '../../server/store/pending-creates.js';
import { createSearchEngine } from '../../server/search/engine.js';
import { migrate } from '../../server/store/migrate.js';
import { SqlStore } from '../../server/store/resource-store.js';
import { loadPolicies } from '../../server/access/policy.js';
import { AccessCompiler } from '../../server/access/request-access.js';
import { allowed } from '../../server/access/access-store.js';
import { SqlWriter } from '../../server/search/sql-writer.js';
import { recording } from '../support/recording-db.js';
import { freshPostgresUrl } from '../support/server.js';

/** The statements prepared on this connection (session). */
async function preparedOn(tx: Queryable): Promise<string[]> {
  return (await tx.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements ORDER BY statement')).map((r) => r.statement);
}

describe('prepared statements (the database seam, PostgreSQL)', function () {
  this.timeout(60_000);
  let db: Db;
  before(async () => {
    db = await openDb({ databaseUrl: await freshPostgresUrl(), dataDir: 'memory://', poolSize: 1 });
  });
  after(async () => db?.close());

  it('a statement marked prepared is prepared once on the connection and answers for each set of values; others are not', async () => {
    await db.transaction(async (tx) => {
      // Through a store transaction's connection too, which writes waiting creates first.
      const sql = new PendingCreates(tx, createSearchEngine({ defaultCount: 20, maxCount: 100 }));
      const text = 'SELECT $1::int + 1 AS n /* prepared-test */';
      expect(await sql.query(text, [1], { prepared: true })).to.deep.equal([{ n: 2 }]);
      expect(await sql.query(text, [41], { prepared: true })).to.deep.equal([{ n: 42 }]);
      await sql.query('SELECT $1::int AS n /* unprepared-test */', [1]);
      const prepared = await preparedOn(tx);
      expect(prepared.filter((s) => s.includes('prepared-test'))).to.deep.equal([text]);
    });
  });

  it('sessions run without JIT compilation, which cost more than the queries it compiled', async () => {
    expect(await db.query('SHOW jit')).to.deep.equal([{ jit: 'off' }]);
  });

  it('keeps at most 200 texts prepared: later ones run unprepared', async () => {
    await db.transaction(async (tx) => {
      for (let i = 0; i < 210; i++) expect(await tx.query(`SELECT $1::int AS n /* bound ${i} */`, [i], { prepared: true })).to.deep.equal([{ n: i }]);
      expect((await preparedOn(tx)).length).to.be.at.most(200);
      expect(await preparedOn(tx)).to.not.include('SELECT $1::int AS n /* bound 209 */');
    });
  });
});

describe('prepared statements on the write and search paths (PostgreSQL)', function () {
  this.timeout(60_000);
  let db: Db;
  before(async () => {
    db = await openDb({ databaseUrl: await freshPostgresUrl(), dataDir: 'memory://', poolSize: 1 });
    await migrate(db);
  });
  after(async () => db?.close());

  it('a create, an update and a search by identifier are prepared (planned once per connection); searches whose plan depends on the value are not', async () => {
    const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
    const store = new SqlStore(db, engine);
    const patient = { resourceType: 'Patient' as const, identifier: [{ system: 'urn:prepared', value: '1' }], name: [{ family: 'Prepared' }] };
    const { id } = await store.create(patient);
    await store.update({ ...patient, id, active: true });
    const search = (query: string) => engine.search({ sql: db, baseUrl: 'http://x/fhir', strict: true }, 'Patient', new URLSearchParams(query));
    expect((await search('identifier=urn:prepared|1')).entry?.map((e) => e.resource?.id)).to.deep.equal([id]);
    expect((await search('family=Prep')).entry?.map((e) => e.resource?.id)).to.deep.equal([id]);
    expect((await search('birthdate=ge1950')).entry ?? []).to.deep.equal([]);
    expect((await search('identifier=urn:prepared|')).entry?.map((e) => e.resource?.id)).to.deep.equal([id]);
    const prepared = await preparedOn(db);
    const has = (fragment: string): boolean => prepared.some((s) => s.includes(fragment));
    expect(has('created AS (SELECT * FROM unnest'), 'the create').to.equal(true);
    expect(has('FOR UPDATE'), "the update's lock").to.equal(true);
    // The update's rows and its index rows go in one statement.
    expect(prepared.some((s) => s.includes('UPDATE resources SET') && s.includes('DELETE FROM search_string WHERE resource_type = $')), "the update's rows and index rows").to.equal(true);
    // The search by identifier, and not the one by the identifier's system alone (which finds every identifier of the system).
    expect(prepared.filter((s) => s.includes('FROM search_token x1')), 'the identifier search').to.have.length(1);
    expect(has('x1.code = $4 AND x1.system = $5'), 'the identifier search').to.equal(true);
    // A prefix or a range finds a few rows or thousands: each is planned for its value.
    expect(has('FROM search_string x1'), 'the family search').to.equal(false);
    expect(has('FROM search_date x1'), 'the date search').to.equal(false);
  });

  it("a GP practice's request asks whether its sets changed with a prepared statement", async () => {
    const compiler = new AccessCompiler(createSearchEngine({ defaultCount: 20, maxCount: 100 }), loadPolicies());
    const practice = compiler.forPrincipal({ clientId: 'gp-prepared', org: 'A99999', kind: 'gp-practice', scopes: [] });
    await practice.prepare(db);
    await practice.prepare(db);
    expect((await preparedOn(db)).some((s) => s.includes('max(seq) FROM change_log'))).to.equal(true);
  });

  it("a GP practice's requests begun in one turn of the event loop share that question; a request begun later asks again", async () => {
    const compiler = new AccessCompiler(createSearchEngine({ defaultCount: 20, maxCount: 100 }), loadPolicies());
    const practice = compiler.forPrincipal({ clientId: 'gp-shared-stamp', org: 'A99998', kind: 'gp-practice', scopes: [] });
    const { db: rec, statements } = recording(db);
    const asked = (): number => statements.filter((s) => s.includes('max(seq) FROM change_log')).length;
    await Promise.all([practice.prepare(rec), practice.prepare(rec), practice.prepare(rec)]);
    expect(asked()).to.equal(1);
    await practice.prepare(rec);
    expect(asked()).to.equal(2);
  });

  it("a GP practice's requests that find its sets changed share one resolution of them", async () => {
    const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
    const practice = new AccessCompiler(engine, loadPolicies()).forPrincipal({ clientId: 'gp-shared-sets', org: 'A99997', kind: 'gp-practice', scopes: [] });
    const { db: rec, statements } = recording(db);
    const resolved = (): number => statements.filter((s) => s.includes('AS set, id FROM')).length;
    await practice.prepare(rec);
    expect(resolved()).to.equal(1);
    // A new Organization changes the change-log position of a type the practice's sets cover.
    await new SqlStore(db, engine).create({ resourceType: 'Organization', name: 'Changed' });
    await Promise.all([practice.prepare(rec), practice.prepare(rec), practice.prepare(rec)]);
    expect(resolved()).to.equal(2);
  });

  it("a GP practice's check of a resource named by id probes the policy's references per row, and is prepared; its searches hash them once", async () => {
    const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
    const practice = await new AccessCompiler(engine, loadPolicies()).forPrincipal({ clientId: 'gp-probe', org: 'A99996', kind: 'gp-practice', scopes: ['system/*.cruds'] }).prepare(db);
    const few = practice.condition(new SqlWriter('', new Map()), 'r', 'Condition', 'c', true);
    const many = practice.condition(new SqlWriter('', new Map()), 'r', 'Condition', 's');
    expect(few).to.match(/EXISTS \(SELECT 1 FROM search_reference/).and.not.match(/r\.id IN \(SELECT/);
    expect(many).to.match(/r\.id IN \(SELECT/).and.not.match(/EXISTS/);
    const { id } = await new SqlStore(db, engine).create({ resourceType: 'Condition', subject: { reference: 'Patient/not-registered-here' } });
    expect(await allowed(db, practice, { resourceType: 'Condition', id }, 'r')).to.equal(false);
    expect((await preparedOn(db)).some((s) => s.includes("SELECT 'allowed' AS verdict") && s.includes('EXISTS (SELECT 1 FROM search_reference'))).to.equal(true);
  });

  it("a GP practice's search of one patient's record probes its policy per row; a broad search hashes it once", async () => {
    const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
    const practice = await new AccessCompiler(engine, loadPolicies()).forPrincipal({ clientId: 'gp-search-probe', org: 'A99995', kind: 'gp-practice', scopes: ['system/*.cruds'] }).prepare(db);
    const { db: rec, statements } = recording(db);
    const search = (query: string) => engine.search({ sql: rec, baseUrl: 'http://x/fhir', strict: true, access: practice }, 'Condition', new URLSearchParams(query));
    await search('subject=Patient/p1');
    const point = statements.filter((s) => s.includes('FROM resources r')).join('\n');
    expect(point).to.match(/EXISTS \(SELECT 1 FROM search_reference pc\d+/);
    statements.length = 0;
    await search('_count=5');
    const broad = statements.filter((s) => s.includes('FROM resources r')).join('\n');
    expect(broad).to.match(/r\.id IN \(SELECT pc\d+\.id FROM search_reference pc\d+/).and.not.match(/EXISTS \(SELECT 1 FROM search_reference pc/);
  });
});
