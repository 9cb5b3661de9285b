import { expect } from 'chai';
import type { Patient } from '@medplum/fhirtypes';
import { createSearchEngine } from '../../server/search/engine.js';
import type { Db } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { SqlStore } from '../../server/store/resource-store.js';
import { recording } from '../support/recording-db.js';
import { freshPostgresUrl } from '../support/server.js';

describe('store: readForUpdate (PostgreSQL)', function () {
  this.timeout(60_000);
  let db: Db;
  const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
  const patient: Patient = { resourceType: 'Patient', name: [{ family: 'Locked' }] };
  before(async () => {
    db = await openDb({ databaseUrl: await freshPostgresUrl(), dataDir: 'memory://', poolSize: 3 });
    await migrate(db);
  });
  after(async () => db?.close());

  it('an update after readForUpdate in its transaction reads the row once, and a second update locks again', async () => {
    const { id } = await new SqlStore(db, engine).create(patient);
    const { db: rec, statements } = recording(db);
    const written = await new SqlStore(rec, engine).transaction(async (tx) => {
      const before = await tx.readForUpdate('Patient', id);
      expect(before?.versionId).to.equal(1);
      await tx.update({ ...patient, id, active: true });
      return tx.update({ ...patient, id, active: false });
    });
    expect(written.versionId).to.equal(3);
    // One lock for readForUpdate, none for the first update, one for the second (its row was written since).
    expect(statements.filter((s) => s.includes('FOR UPDATE'))).to.have.length(2);
  });

  it('an update is its lock and one statement: current, history, change-log and index rows together', async () => {
    const { id } = await new SqlStore(db, engine).create({ ...patient, identifier: [{ system: 'urn:one-statement', value: '1' }] });
    const { db: rec, statements } = recording(db);
    const written = await new SqlStore(rec, engine).update({ ...patient, id, identifier: [{ system: 'urn:one-statement', value: '2' }] });
    expect(written.versionId).to.equal(2);
    expect(statements).to.have.length(2);
    expect(statements[0]).to.include('FOR UPDATE');
    for (const part of ['UPDATE resources SET', 'INSERT INTO resource_history', 'INSERT INTO change_log', 'DELETE FROM search_token', 'INSERT INTO search_token']) expect(statements[1]).to.include(part);
    const [row] = await db.query<{ versions: number; logged: number; value: string }>(
      `SELECT (SELECT count(*)::int FROM resource_history WHERE id = $1) AS versions, (SELECT count(*)::int FROM change_log WHERE id = $1) AS logged,
              (SELECT string_agg(code, ',') FROM search_token WHERE id = $1 AND param = 'identifier') AS value`,
      [id],
    );
    expect(row).to.deep.equal({ versions: 2, logged: 2, value: '2' });
  });

  it('a delete is its lock and one statement: current, history and change-log rows with the index rows gone', async () => {
    const { id } = await new SqlStore(db, engine).create({ ...patient, identifier: [{ system: 'urn:one-statement', value: 'gone' }] });
    const { db: rec, statements } = recording(db);
    const deleted = await new SqlStore(rec, engine).delete('Patient', id);
    expect(deleted?.versionId).to.equal(2);
    expect(statements).to.have.length(2);
    expect(statements[0]).to.include('FOR UPDATE');
    for (const part of ['UPDATE resources SET', 'INSERT INTO resource_history', 'INSERT INTO change_log', 'DELETE FROM search_token']) expect(statements[1]).to.include(part);
    const [row] = await db.query<{ deleted: boolean; versions: number; logged: number; tokens: number }>(
      `SELECT (SELECT deleted FROM resources WHERE id = $1), (SELECT count(*)::int FROM resource_history WHERE id = $1) AS versions,
              (SELECT count(*)::int FROM change_log WHERE id = $1 AND interaction = 'delete') AS logged, (SELECT count(*)::int FROM search_token WHERE id = $1) AS tokens`,
      [id],
    );
    expect(row).to.deep.equal({ deleted: true, versions: 2, logged: 1, tokens: 0 });
  });

  it('holds the row: a concurrent update waits for the transaction that read it for update', async () => {
    const store = new SqlStore(db, engine);
    const { id } = await store.create(patient);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const first = store.transaction(async (tx) => {
      await tx.readForUpdate('Patient', id);
      locked();
      await held;
      return tx.update({ ...patient, id, gender: 'female' });
    });
    await isLocked;
    const second = store.update({ ...patient, id, gender: 'male' });
    // The second waits on the row lock (PostgreSQL says so), not on time.
    for (;;) {
      const waiting = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
      if (waiting[0].n > 0) break;
    }
    release();
    expect((await first).versionId).to.equal(2);
    expect((await second).versionId).to.equal(3);
  });
});
