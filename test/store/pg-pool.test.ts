import { expect } from 'chai';
import type { Db } from '../../server/store/db.js';
import { openDb } from '../../server/store/open-db.js';
import { freshPostgresUrl } from '../support/server.js';

/** The PostgreSQL sessions serving three statements at once. */
async function sessionsOf(db: Db): Promise<number[]> {
  const rows = await Promise.all([0, 1, 2].map(() => db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.1)')));
  return rows.map(([r]) => r.pid).sort();
}

describe('the PostgreSQL pool (the database seam)', function () {
  this.timeout(60_000);
  let db: Db;
  before(async () => {
    db = await openDb({ databaseUrl: await freshPostgresUrl(), dataDir: 'memory://', poolSize: 3 });
  });
  after(async () => db?.close());

  it('keeps the sessions it opened through an idle spell longer than pg-pool closes idle ones (10 s)', async () => {
    const first = await sessionsOf(db);
    expect(new Set(first).size).to.equal(3);
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    expect(await sessionsOf(db)).to.deep.equal(first);
  });
});
