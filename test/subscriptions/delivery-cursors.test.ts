import { expect } from 'chai';
import pg from 'pg';
import type { Db } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { DeliveryCursors } from '../../subscriptions/delivery-cursors.js';

/**
 * The statements that change several subscriptions' rows at once (the match step's event numbers,
 * a deliverer's leases and flushes) must lock them in one order, by subscription id: two that lock
 * in different orders deadlock, and PostgreSQL finds a deadlock only after deadlock_timeout (1 s),
 * a second in which every notification of both waits (BENCHMARKS.md, session 14).
 */
describe('delivery cursors lock subscription_state rows in subscription id order', () => {
  let db: Db;
  let url: string;
  const ids = ['sub-a', 'sub-b', 'sub-c', 'sub-d'];

  before(async () => {
    const admin = process.env.TEST_DATABASE_URL;
    if (!admin) throw new Error('TEST_DATABASE_URL is not set');
    const name = `hub_test_cursors_${process.pid}`;
    const client = new pg.Client(admin);
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name}`);
    await client.query(`CREATE DATABASE ${name}`);
    // Plans that meet the rows in storage order (which updates reshuffle), as PostgreSQL may choose
    // for a table of many subscriptions: the order of locking must not depend on the plan.
    for (const setting of ['enable_indexscan', 'enable_bitmapscan', 'enable_nestloop', 'enable_mergejoin']) await client.query(`ALTER DATABASE ${name} SET ${setting} = off`);
    await client.end();
    const u = new URL(admin);
    u.pathname = `/${name}`;
    url = u.toString();
    db = await openDb({ databaseUrl: url, dataDir: 'memory://', poolSize: 4 });
    await migrate(db);
  });

  after(async () => {
    await db.close();
  });

  beforeEach(async () => {
    await db.query('DELETE FROM subscription_state');
    // Stored in the reverse of id order, so a scan in storage order meets them last id first; among
    // many others, as on a busy hub, so that a join hashes the ids and scans the table.
    await db.query("INSERT INTO subscription_state (subscription_id) SELECT 'other-' || n FROM generate_series(1, 1000) n");
    for (const id of [...ids].reverse()) await db.query('INSERT INTO subscription_state (subscription_id) VALUES ($1)', [id]);
    await db.query('ANALYZE subscription_state');
  });

  /**
   * Another session holds the first id's row, then asks for the last id's. Locking in id order, the
   * statement waits on the first row holding nothing, so the other session gets the last one at once.
   * In storage order it would hold the last row and wait on the first: a deadlock.
   */
  async function holdsNothingWhileWaiting(statement: (cursors: DeliveryCursors) => Promise<unknown>): Promise<void> {
    const other = new pg.Client(url);
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query("SET LOCAL lock_timeout = '500ms'");
      await other.query('UPDATE subscription_state SET failures = failures WHERE subscription_id = $1', [ids[0]]);
      const running = statement(new DeliveryCursors(db, 'owner-1', 30_000));
      // The statement is waiting on the first row once its session shows a lock wait.
      const until = Date.now() + 10_000;
      for (;;) {
        const [{ n }] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        if (n > 0) break;
        if (Date.now() > until) throw new Error('the statement never waited on the held row');
        await new Promise((r) => setTimeout(r, 10));
      }
      await other.query('UPDATE subscription_state SET failures = failures WHERE subscription_id = $1', [ids[ids.length - 1]]);
      await other.query('COMMIT');
      await running;
    } finally {
      await other.end();
    }
  }

  it('taking leases', async () => {
    let taken: Map<string, unknown> | undefined;
    await holdsNothingWhileWaiting(async (cursors) => (taken = await cursors.acquire(ids)));
    expect([...taken!.keys()].sort()).to.deep.equal(ids);
  });

  it('a flush', async () => {
    let ours: Set<string> | undefined;
    await holdsNothingWhileWaiting(async (cursors) => (ours = await cursors.flush(ids.map((id) => ({ subscriptionId: id, through: 3, release: true })), [])));
    // No lease was this owner's; the cursors moved all the same.
    expect(ours!.size).to.equal(0);
    const moved = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM subscription_state WHERE subscription_id = ANY($1::text[]) AND delivered_through = 3', [ids]);
    expect(moved[0].n).to.equal(ids.length);
  });
});
