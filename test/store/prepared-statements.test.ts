import { expect } from 'chai';
import type { Db, Queryable } from '../../server/store/db.js';
import { openDb } from '../../server/store/open-db.js';
import { PendingCreates } from '../../server/store/pending-creates.js';
import { createSearchEngine } from '../../server/search/engine.js';
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

  it('keeps at most 200 texts prepared: later ones run unprepared', async () => {
    await db.transaction(async (tx) => {
      for (let i = 0; i < 210; i++) expect(await tx.query(`SELECT $1::int AS n /* bound ${i} */`, [i], { prepared: true })).to.deep.equal([{ n: i }]);
      expect((await preparedOn(tx)).length).to.be.at.most(200);
      expect(await preparedOn(tx)).to.not.include('SELECT $1::int AS n /* bound 209 */');
    });
  });
});
