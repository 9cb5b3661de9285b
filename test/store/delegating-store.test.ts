import { expect } from 'chai';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { createSearchEngine } from '../../server/search/engine.js';
import { AssignedIdStore } from '../../server/store/assigned-id-store.js';
import type { Db } from '../../server/store/db.js';
import { DelegatingStore } from '../../server/store/delegating-store.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { SqlStore } from '../../server/store/resource-store.js';
import type { Store, WriteResult } from '../../server/store/store.js';

/** A layer that adds one thing: every create it passes down is tagged. */
class TaggingStore extends DelegatingStore {
  override create(resource: Resource, id?: string): Promise<WriteResult> {
    return this.inner.create({ ...resource, meta: { tag: [{ code: 'layered' }] } }, id);
  }

  protected over(inner: Store): Store {
    return new TaggingStore(inner);
  }
}

/** The base of the store stack's layers (server/store-stack.ts), on PGlite. */
describe('store: DelegatingStore layers', function () {
  this.timeout(60_000);
  let db: Db;
  let sql: SqlStore;
  const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });
  const tags = (w: { content?: string }): string[] => ((JSON.parse(w.content ?? '{}') as Resource).meta?.tag ?? []).map((t) => t.code ?? '');

  before(async () => {
    db = await openDb({ dataDir: 'memory://', poolSize: 1, statementTimeoutMs: 30_000, slowQueryMs: 0 });
    await migrate(db);
    sql = new SqlStore(db, createSearchEngine({ defaultCount: 20, maxCount: 100 }));
  });
  after(() => db.close());

  it('a layer changes only what it overrides: every other method reaches the store beneath unchanged', async () => {
    const layered = new TaggingStore(sql);
    const created = await layered.create(patient('One'));
    expect(tags(created)).to.deep.equal(['layered']);
    const updated = await layered.update({ ...patient('Two'), id: created.id }, 1);
    expect(tags(updated)).to.deep.equal([]);
    expect((await layered.read('Patient', created.id))?.versionId).to.equal(2);
    expect(tags((await layered.vread('Patient', created.id, 1))!)).to.deep.equal(['layered']);
    expect((await layered.readMany([{ resourceType: 'Patient', id: created.id }])).map((v) => v.id)).to.deep.equal([created.id]);
    expect((await layered.history({ resourceType: 'Patient', id: created.id, count: 10 })).total).to.equal(2);
    expect((await layered.delete('Patient', created.id))?.deleted).to.equal(true);
    expect(layered.sql).to.equal(sql.sql);
  });

  it('inside a transaction the layer holds, on the transaction: its writes commit or roll back together', async () => {
    const layered = new TaggingStore(sql);
    const id = await layered.transaction(async (tx) => {
      expect(tx).to.be.instanceOf(TaggingStore);
      expect(tx.sql).to.not.equal(sql.sql);
      return (await tx.create(patient('Inside'))).id;
    });
    expect(tags((await sql.read('Patient', id))!)).to.deep.equal(['layered']);
    let lost = '';
    await layered
      .transaction(async (tx) => {
        lost = (await tx.create(patient('Lost'))).id;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await sql.read('Patient', lost)).to.equal(undefined);
  });

  it('AssignedIdStore: a create lands on the assigned id, in a nested transaction too', async () => {
    await sql.transaction(async (tx) => {
      const assigned = new AssignedIdStore(tx, 'assigned-1');
      expect((await assigned.create(patient('Assigned'))).id).to.equal('assigned-1');
      const nested = await assigned.transaction((inner) => inner.create({ resourceType: 'Organization', name: 'Nested' }));
      expect(nested.id).to.equal('assigned-1');
    });
  });
});
