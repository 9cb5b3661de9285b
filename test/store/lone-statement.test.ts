import { expect } from 'chai';
import type { Patient } from '@medplum/fhirtypes';
import { AuditWriter } from '../../server/audit/writer.js';
import { logger } from '../../server/logger.js';
import { createSearchEngine } from '../../server/search/engine.js';
import type { Db, QueryOptions, Queryable } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { SqlStore } from '../../server/store/resource-store.js';
import { freshPostgresUrl } from '../support/server.js';

/** In a transaction block the statement after BEGIN starts later than its transaction; a statement sent alone is its transaction's first command. */
const ALONE = 'SELECT now() = statement_timestamp() AS alone';

describe('store: a transaction whose one statement is its last goes without BEGIN and COMMIT (PostgreSQL)', function () {
  this.timeout(60_000);
  let db: Db;
  const count = async (): Promise<number[]> => (await db.query<{ n: number }>('SELECT n FROM lone_statement ORDER BY n')).map((r) => r.n);

  before(async () => {
    db = await openDb({ databaseUrl: await freshPostgresUrl(), dataDir: 'memory://', poolSize: 2 });
    await migrate(db);
    await db.exec('CREATE TABLE lone_statement (n integer NOT NULL)');
  });
  beforeEach(() => db.exec('TRUNCATE lone_statement'));
  after(async () => db?.close());

  it('a lone last statement is sent alone; without `last`, or after another statement, it runs inside BEGIN', async () => {
    const alone = (options?: QueryOptions) => db.transaction(async (tx) => (await tx.query<{ alone: boolean }>(ALONE, [], options))[0].alone);
    expect(await alone({ last: true })).to.equal(true);
    expect(await alone()).to.equal(false);
    const afterAnother = await db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      return (await tx.query<{ alone: boolean }>(ALONE, [], { last: true }))[0].alone;
    });
    expect(afterAnother).to.equal(false);
  });

  it('statements before the last one commit with it, or roll back with it when it fails', async () => {
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO lone_statement VALUES (1)');
      await tx.query('INSERT INTO lone_statement VALUES (2)', [], { last: true });
    });
    expect(await count()).to.deep.equal([1, 2]);
    const failed = await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO lone_statement VALUES (3)');
        await tx.query('INSERT INTO lone_statement VALUES (NULL)', [], { last: true });
      })
      .catch((err: Error) => err);
    expect(failed).to.be.instanceOf(Error);
    expect(await count()).to.deep.equal([1, 2]);
  });

  it('a failed lone statement leaves nothing, and a statement after a lone one is refused once it has committed', async () => {
    const failed = await db.transaction((tx) => tx.query('INSERT INTO lone_statement VALUES (1), (NULL)', [], { last: true })).catch((err: Error) => err);
    expect(failed).to.be.instanceOf(Error);
    expect(await count()).to.deep.equal([]);
    const misuse = await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO lone_statement VALUES (5)', [], { last: true });
        await tx.query('INSERT INTO lone_statement VALUES (6)');
      })
      .catch((err: Error) => err);
    expect(misuse).to.be.instanceOf(Error).with.property('message').that.matches(/after the last one/);
    expect(await count()).to.deep.equal([5]);
  });

  it("a create and its audit event go in one statement, the transaction's last, so alone", async () => {
    const seen: Array<{ sql: string; options?: QueryOptions }> = [];
    const record = (q: Queryable): Queryable => ({ query: (sql, params, options) => (seen.push({ sql, options }), q.query(sql, params, options)) });
    const recorded: Db = { ...db, transaction: (fn) => db.transaction((tx) => fn(record(tx))) };
    const writer = new AuditWriter({ db, log: logger });
    const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
    await new SqlStore(db, engine).create({ resourceType: 'Patient' } as Patient); // the search parameters load on first use
    const patient: Patient = { resourceType: 'Patient', name: [{ family: 'Alone' }] };
    const { id } = await new SqlStore(recorded, engine).transaction(async (tx) => {
      const written = await tx.create(patient);
      await writer.recordWithin(tx.sql, { interaction: 'create', status: 201, resources: [`Patient/${written.id}`], patients: [written.id] });
      return written;
    });
    expect(seen).to.have.length(1);
    expect(seen[0].options?.last).to.equal(true);
    expect(seen[0].sql).to.include('INSERT INTO audit_event');
    expect(await db.query('SELECT 1 FROM resources WHERE id = $1', [id])).to.have.length(1);
    expect(await db.query('SELECT 1 FROM audit_event WHERE $1 = ANY(patients)', [id])).to.have.length(1);
  });
});
